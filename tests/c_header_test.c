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
  CHECK(p.threshold_policy == FACEATTR_THRESHOLDS_ACCURACY);
  CHECK(p.anet_views == 1);
  CHECK(FACEATTR_SECOND_VIEW_SCALE > 0.0f && FACEATTR_SECOND_VIEW_SCALE < 1.0f);
  CHECK(FACEATTR_THRESHOLDS_BALANCED == 1);

  CHECK(strcmp(faceattr_status_string(FACEATTR_OK), "FACEATTR_OK") == 0);
  CHECK(strcmp(faceattr_status_string(FACEATTR_ERR_MODEL_FORMAT), "FACEATTR_ERR_MODEL_FORMAT") == 0);
  CHECK(strcmp(faceattr_backend_name(FACEATTR_BACKEND_REFERENCE), "reference") == 0);
  CHECK(faceattr_backend_available(FACEATTR_BACKEND_REFERENCE) == 1);

  char version[32];
  snprintf(version, sizeof version, "%d.%d.%d", FACEATTR_VERSION_MAJOR, FACEATTR_VERSION_MINOR,
           FACEATTR_VERSION_PATCH);
  CHECK(strcmp(faceattr_version(), version) == 0);
  CHECK(strcmp(faceattr_version(), FACEATTR_VERSION_STRING) == 0);

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
  CHECK(faceattr_session_threshold_policy(NULL) == FACEATTR_THRESHOLDS_ACCURACY);
  CHECK(faceattr_session_has_threshold_policy(NULL, FACEATTR_THRESHOLDS_ACCURACY) == 0);
  CHECK(faceattr_session_set_threshold_policy(NULL, FACEATTR_THRESHOLDS_BALANCED) ==
        FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_last_error()[0] != '\0');
  {
    faceattr_response_map map;
    memset(&map, 0, sizeof map);
    CHECK(faceattr_session_response_map(NULL, &map) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(map.data == NULL);
  }
  faceattr_session_free(NULL);

  /* Models and the staged pipeline, without a model: failures with messages. */
  {
    faceattr_model* m = NULL;
    faceattr_model_info info;
    faceattr_stage_info si;
    faceattr_letterbox lb;
    faceattr_face_crop crop;
    float input[3];
    int32_t n = -1;
    const float* maps[1] = {input};
    CHECK(faceattr_model_load(junk, sizeof junk, &m) == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(m == NULL);
    CHECK(faceattr_model_get_info(NULL, &info) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_model(NULL, 0) == NULL);
    faceattr_model_free(NULL);
    CHECK(faceattr_session_stage_info(NULL, &si) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_lnet_input(NULL, NULL, 0, input, &lb) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_decode_faces(NULL, maps, &lb, 1, &crop, &n) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(n == 0);
    CHECK(faceattr_session_whole_image_crop(NULL, NULL, &crop) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_anet_input(NULL, NULL, crop.crop, input) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_anet_view_input(NULL, NULL, crop.crop, 1, input) == FACEATTR_ERR_INVALID_ARGUMENT);
    {
      const float a[2] = {0.8f, 0.5f}, b[2] = {0.2f, 0.5f};
      float c[2] = {0, 0};
      CHECK(faceattr_combine_views(a, b, 2, c) == FACEATTR_OK);
      CHECK(c[0] > 0.4999f && c[0] < 0.5001f && c[1] > 0.4999f && c[1] < 0.5001f);
      CHECK(faceattr_combine_views(NULL, b, 2, c) == FACEATTR_ERR_INVALID_ARGUMENT);
    }
    CHECK(faceattr_last_error()[0] != '\0');
    CHECK(FACEATTR_MAX_LNET_PASSES >= 1);
    CHECK(FACEATTR_DTYPE_I8 == 1);
  }

  if (failures == 0) printf("c_header_test: ok\n");
  return failures == 0 ? 0 : 1;
}
