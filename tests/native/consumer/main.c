/* Consumer of the installed C API: loads the model named on the command line,
 * predicts on a white 40x30 RGBA frame and checks what the test model must
 * give there (tests/native/make_fixtures.cpp: even attributes present, p ~ 1).
 * Prints "ok: <attribute> p=<p>" and exits 0, or exits 1 with the reason. */
#include <faceattr/faceattr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char* read_all(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  unsigned char* buf = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = (unsigned char*)malloc((size_t)n);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    }
    *size = (size_t)n;
  }
  fclose(f);
  return buf;
}

static int fail(const char* what) {
  fprintf(stderr, "consumer_c: %s: %s\n", what, faceattr_last_error());
  return 1;
}

int main(int argc, char** argv) {
  char version[32];
  size_t size = 0;
  unsigned char* model;
  unsigned char pixels[40 * 30 * 4];
  faceattr_session_params params = faceattr_session_default_params();
  faceattr_session* s = NULL;
  faceattr_image img;
  const faceattr_face* faces = NULL;
  int32_t n_faces = 0;
  const char garbage[] = "not a model";
  int rc = 0;

  if (argc != 2) return fail("usage: consumer_c MODEL");
  snprintf(version, sizeof version, "%d.%d.%d", FACEATTR_VERSION_MAJOR, FACEATTR_VERSION_MINOR,
           FACEATTR_VERSION_PATCH);
  if (strcmp(version, faceattr_version()) != 0) return fail("header and library versions differ");

  /* A bad model is refused with a status and a message, not a crash. */
  if (faceattr_session_create(garbage, sizeof garbage, NULL, 0, NULL, &s) == FACEATTR_OK || s != NULL)
    return fail("garbage model accepted");
  if (faceattr_last_error()[0] == '\0') return fail("no error message for a garbage model");

  model = read_all(argv[1], &size);
  if (!model) return fail("cannot read the model file");
  params.n_threads = 2;
  if (faceattr_session_create(model, size, NULL, 0, &params, &s) != FACEATTR_OK) {
    free(model);
    return fail("faceattr_session_create");
  }
  free(model); /* the session keeps no pointer into the buffer */

  memset(pixels, 255, sizeof pixels);
  img.data = pixels;
  img.width = 40;
  img.height = 30;
  img.stride_bytes = 40 * 4;
  img.format = FACEATTR_PIXEL_RGBA;
  if (faceattr_session_predict(s, &img, &faces, &n_faces) != FACEATTR_OK) {
    rc = fail("faceattr_session_predict");
  } else if (n_faces != 1 || faceattr_session_n_attributes(s) != 40) {
    fprintf(stderr, "consumer_c: %d faces, %d attributes\n", n_faces, faceattr_session_n_attributes(s));
    rc = 1;
  } else if (faces[0].probs[0] < 0.999f || !faces[0].present[0] || faces[0].probs[1] > 0.001f ||
             faces[0].present[1]) {
    fprintf(stderr, "consumer_c: unexpected probabilities %f %f\n", faces[0].probs[0], faces[0].probs[1]);
    rc = 1;
  } else {
    printf("consumer_c ok: %s p=%.6f (backend %s)\n", faceattr_session_attribute_name(s, 0),
           faces[0].probs[0], faceattr_backend_name(faceattr_session_backend(s)));
  }
  faceattr_session_free(s);
  return rc;
}
