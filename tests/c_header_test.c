/* Compiles the public header as C99 and exercises the session-independent calls. */
#include <stdio.h>
#include <string.h>

#include "faceattr/faceattr.h"

static int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

int main(void) {
  faceattr_session_params p = faceattr_session_default_params();
  CHECK(p.n_threads == 1);
  CHECK(p.backend == FACEATTR_BACKEND_AUTO);
  CHECK(p.max_faces == 32);
  CHECK(p.localize == 1);
  CHECK(p.max_image_pixels > 0);

  CHECK(strcmp(faceattr_status_string(FACEATTR_OK), "FACEATTR_OK") == 0);
  CHECK(strcmp(faceattr_status_string(FACEATTR_ERR_MODEL_FORMAT), "FACEATTR_ERR_MODEL_FORMAT") == 0);
  CHECK(strcmp(faceattr_backend_name(FACEATTR_BACKEND_REFERENCE), "reference") == 0);
  CHECK(faceattr_backend_available(FACEATTR_BACKEND_REFERENCE) == 1);

  char version[32];
  snprintf(version, sizeof version, "%d.%d.%d", FACEATTR_VERSION_MAJOR, FACEATTR_VERSION_MINOR,
           FACEATTR_VERSION_PATCH);
  CHECK(strcmp(faceattr_version(), version) == 0);

  /* A buffer that is not a model: create fails with a message. */
  static const unsigned char junk[100] = {'n', 'o', 't', ' ', 'a', ' ', 'm', 'o', 'd', 'e', 'l'};
  faceattr_session* s = NULL;
  faceattr_status st = faceattr_session_create(junk, sizeof junk, NULL, 0, &p, &s);
  CHECK(st == FACEATTR_ERR_MODEL_FORMAT);
  CHECK(s == NULL);
  CHECK(faceattr_last_error() != NULL && faceattr_last_error()[0] != '\0');

  st = faceattr_session_create(NULL, 0, NULL, 0, NULL, &s);
  CHECK(st == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_last_error()[0] != '\0');

  CHECK(faceattr_session_n_attributes(NULL) == -1);
  CHECK(faceattr_session_attribute_name(NULL, 0) == NULL);
  CHECK(faceattr_session_has_localizer(NULL) == 0);
  {
    faceattr_response_map map;
    memset(&map, 0, sizeof map);
    CHECK(faceattr_session_response_map(NULL, &map) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(map.data == NULL);
  }
  faceattr_session_free(NULL);

  if (failures == 0) printf("c_header_test: ok\n");
  return failures == 0 ? 0 : 1;
}
