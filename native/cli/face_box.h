// The project's face box: a square fixed by five facial landmarks (MTFL order:
// left eye, right eye, nose tip, left mouth corner, right mouth corner; "left"
// is the image's left). The LNet trainer boxes MTFL faces the same way.
#pragma once

namespace faceattr::cli {

struct FaceBox {
  double x = 0, y = 0, w = 0, h = 0;  // top-left corner and size, image pixels
};

// E = midpoint of the eyes, M = midpoint of the mouth corners,
// s = max(|M - E|, |right eye - left eye|): a square of side 2.8 s centred at
// E + 0.3 (M - E). The nose (index 2) is not used.
FaceBox canonical_face_box(const float lx[5], const float ly[5]);

}  // namespace faceattr::cli
