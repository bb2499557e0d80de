// Consumer of the installed C++ wrapper (faceattr.hpp): the same checks as
// main.c, through faceattr::Session and exceptions.
#include <cstdio>
#include <faceattr/faceattr.hpp>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 1;
  std::ifstream in(argv[1], std::ios::binary);
  const std::vector<unsigned char> model((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
  try {
    const char garbage[] = "not a model";
    faceattr::Session::create(garbage, sizeof garbage);
    std::fprintf(stderr, "consumer_cpp: garbage model accepted\n");
    return 1;
  } catch (const faceattr::Error& e) {
    if (e.status() == FACEATTR_OK) return 1;
  }
  try {
    faceattr::Session session = faceattr::Session::create(model.data(), model.size());
    std::vector<unsigned char> bgr(32 * 32 * 3, 255);
    const faceattr_image img{bgr.data(), 32, 32, 32 * 3, FACEATTR_PIXEL_BGR};
    const faceattr::Faces faces = session.predict(img);
    if (faces.size() != 1 || session.n_attributes() != 40 || faces[0].probs[0] < 0.999f ||
        faces[0].probs[1] > 0.001f) {
      std::fprintf(stderr, "consumer_cpp: unexpected result\n");
      return 1;
    }
    std::printf("consumer_cpp ok: %s p=%.6f\n", session.attribute_name(0).c_str(), faces[0].probs[0]);
  } catch (const faceattr::Error& e) {
    std::fprintf(stderr, "consumer_cpp: %s\n", e.what());
    return 1;
  }
  return 0;
}
