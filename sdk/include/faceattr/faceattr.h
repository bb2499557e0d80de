/*
 * faceattr — face attributes in the wild. Public C API.
 *
 * Usage:
 *
 *   faceattr_session_params params = faceattr_session_default_params();
 *   params.n_threads = 2;
 *   faceattr_session *s = NULL;
 *   if (faceattr_session_create(anet_bytes, anet_size, NULL, 0, &params, &s) != FACEATTR_OK) {
 *     fprintf(stderr, "%s\n", faceattr_last_error());
 *     return 1;
 *   }
 *   faceattr_image img = {pixels, width, height, width * 3, FACEATTR_PIXEL_RGB};
 *   const faceattr_face *faces = NULL;
 *   int32_t n_faces = 0;
 *   if (faceattr_session_predict(s, &img, &faces, &n_faces) == FACEATTR_OK) {
 *     for (int32_t a = 0; a < faceattr_session_n_attributes(s); ++a)
 *       printf("%s %.2f\n", faceattr_session_attribute_name(s, a), faces[0].probs[a]);
 *   }
 *   faceattr_session_free(s);
 *
 * Rules of the API:
 *  - No exceptions cross it; every fallible call returns a faceattr_status and,
 *    on failure, sets a per-thread message read with faceattr_last_error().
 *  - Models are read from caller-owned byte buffers; the SDK never opens files.
 *    The buffer may be freed once faceattr_session_create returns.
 *  - A session serves one call at a time; a second concurrent call returns
 *    FACEATTR_ERR_BUSY and changes nothing (it never waits). Use one session per
 *    thread, or serialise calls; calls from different threads one after another
 *    need no locking of their own. Sessions are independent: any number may run
 *    at once, each from its own thread, created from the same model bytes.
 *    See "Threads" below. A failed call leaves the session usable.
 *  - Predictions allocate no memory: buffers are planned at create time.
 *  - Params structs grow by adding fields at the end; always start from
 *    *_default_params().
 */
#ifndef FACEATTR_FACEATTR_H
#define FACEATTR_FACEATTR_H

#include <stddef.h>
#include <stdint.h>

/* FACEATTR_VERSION_MAJOR, _MINOR, _PATCH and _STRING: generated from project(VERSION)
   of the top-level CMakeLists.txt, the one place the version is set. */
#include "faceattr/faceattr_version.h"

#if defined(_WIN32) && defined(FACEATTR_SHARED)
#if defined(FACEATTR_BUILD)
#define FACEATTR_API __declspec(dllexport)
#else
#define FACEATTR_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && defined(FACEATTR_SHARED) && defined(FACEATTR_BUILD)
#define FACEATTR_API __attribute__((visibility("default")))
#else
#define FACEATTR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * In whole-image mode (no localiser), an image whose shorter side is under this
 * many pixels holds no face: predict returns 0 faces rather than reading
 * attributes from a few pixels. The localiser is trained on faces from 12 px.
 */
#define FACEATTR_MIN_WHOLE_IMAGE_SIDE 12

/** Status codes. FACEATTR_OK is 0; every error is positive. */
typedef enum faceattr_status {
  FACEATTR_OK = 0,
  FACEATTR_ERR_INVALID_ARGUMENT = 1, /* null pointer, bad size, stride, format, ... */
  FACEATTR_ERR_MODEL_FORMAT = 2,     /* corrupt, truncated or inconsistent model */
  FACEATTR_ERR_MODEL_VERSION = 3,    /* model file version this SDK does not read */
  FACEATTR_ERR_UNSUPPORTED = 4,      /* valid request this build cannot serve (e.g. backend) */
  FACEATTR_ERR_OUT_OF_MEMORY = 5,
  FACEATTR_ERR_CANCELLED = 6, /* the abort callback asked to stop */
  FACEATTR_ERR_INTERNAL = 7,
  FACEATTR_ERR_BUSY = 8 /* another call on the same session is in progress; nothing was done */
} faceattr_status;

/** Pixel layouts of an input image: 8 bits per channel, interleaved. */
typedef enum faceattr_pixel_format {
  FACEATTR_PIXEL_RGB = 0,
  FACEATTR_PIXEL_RGBA = 1,
  FACEATTR_PIXEL_BGR = 2,
  FACEATTR_PIXEL_BGRA = 3
} faceattr_pixel_format;

/** CPU kernel families. AUTO picks the fastest one compiled in. */
typedef enum faceattr_backend {
  FACEATTR_BACKEND_AUTO = 0,
  FACEATTR_BACKEND_REFERENCE = 1, /* plain C++, every op, the correctness yardstick */
  FACEATTR_BACKEND_XNNPACK = 2,   /* native builds only */
  FACEATTR_BACKEND_SIMD = 3       /* Google Highway: AVX2/AVX-512/NEON natively, WASM SIMD128 */
} faceattr_backend;

/**
 * Which of the model's decision thresholds turn probabilities into present flags
 * (faceattr_session_set_threshold_policy). Every ANet model has the accuracy ones;
 * the balanced ones only when its file carries them (balanced_thresholds,
 * docs/model-format.md; faceattr_session_has_threshold_policy).
 */
typedef enum faceattr_threshold_policy {
  FACEATTR_THRESHOLDS_ACCURACY = 0, /* per attribute, the threshold of best accuracy (default) */
  FACEATTR_THRESHOLDS_BALANCED = 1  /* per attribute, the equal-error-rate threshold: best balanced
                                       accuracy, so rare attributes are reported more often */
} faceattr_threshold_policy;

typedef enum faceattr_log_level {
  FACEATTR_LOG_DEBUG = 0,
  FACEATTR_LOG_INFO = 1,
  FACEATTR_LOG_WARN = 2,
  FACEATTR_LOG_ERROR = 3
} faceattr_log_level;

/** Log sink; `message` is valid only during the call. */
typedef void (*faceattr_log_callback)(faceattr_log_level level, const char* message, void* user_data);
/** Polled between network layers; return non-zero to cancel (FACEATTR_ERR_CANCELLED). */
typedef int (*faceattr_abort_callback)(void* user_data);

/** Session options. Start from faceattr_session_default_params(). */
typedef struct faceattr_session_params {
  int32_t n_threads;                  /* worker threads for kernels; default 1 */
  faceattr_backend backend;           /* default FACEATTR_BACKEND_AUTO */
  faceattr_log_callback log_callback; /* default NULL: silent */
  void* log_user_data;
  faceattr_log_level log_level;           /* minimum level passed to log_callback; default WARN */
  faceattr_abort_callback abort_callback; /* default NULL */
  void* abort_user_data;
  int32_t max_faces;        /* cap on faces per frame; default 32 */
  int32_t min_face_size;    /* smallest face side in pixels the localiser reports; default 24 */
  int64_t max_image_pixels; /* larger images are refused before allocating; default 64 Mpx */
  int32_t localize;         /* 1 (default): with an LNet model, predict localises the faces of
                               the frame; 0: whole-image mode even with one (each image is one
                               face crop: the centre crop, score 1) */
  faceattr_threshold_policy threshold_policy; /* the session's first policy (it may change it later:
                                                 faceattr_session_set_threshold_policy); default
                                                 ACCURACY; one the model lacks fails create with
                                                 FACEATTR_ERR_UNSUPPORTED */
  int32_t anet_views; /* ANet runs per face: 1 (default): the face's crop; 2: also a second view,
                         the crop shrunk to FACEATTR_SECOND_VIEW_SCALE of its size about its
                         centre and mirrored left to right; each probability is then the
                         sigmoid of the mean of the two views' log-odds. Twice ANet's time
                         per face. Other values fail create with FACEATTR_ERR_INVALID_ARGUMENT */
} faceattr_session_params;

/** Side of the second ANet view (faceattr_session_params.anet_views = 2), as a fraction of the crop's. */
#define FACEATTR_SECOND_VIEW_SCALE 0.9f

/** An image: `height` rows of `width` pixels; row r starts at data + r * stride_bytes. */
typedef struct faceattr_image {
  const uint8_t* data;
  int32_t width;
  int32_t height;
  int32_t stride_bytes; /* >= width * channels(format) */
  faceattr_pixel_format format;
} faceattr_image;

/**
 * One face. Box in input-image pixels (x, y: top-left; may extend past the
 * image, but the localiser reports no box longer than 4 times the image's
 * longer side). `probs[i]` is the probability of attribute i, `present[i]` is 1 when
 * probs[i] >= the threshold for i of the session's threshold policy
 * (faceattr_session_attribute_threshold when the face was predicted). Both arrays have
 * faceattr_session_n_attributes() entries and, like the face array itself,
 * stay valid until the next predict call on the session or its free.
 */
typedef struct faceattr_face {
  float box[4]; /* x, y, w, h */
  float score;  /* face confidence in [0, 1]; 1 when no localiser model is loaded */
  const float* probs;
  const uint8_t* present;
} faceattr_face;

typedef struct faceattr_session faceattr_session;

/*
 * Threads. A session serves one call at a time. The calls that run work on the
 * session or read what such work wrote -- faceattr_session_predict,
 * _predict_crop, _explain, _response_map, _last_timings, _lnet_input,
 * _decode_faces, _anet_input and _anet_view_input -- each hold the session for their duration: a
 * second of them entering while one runs (from another thread, or from the
 * first call's abort or log callback) returns FACEATTR_ERR_BUSY at once,
 * changes nothing in the session and does not wait. Results the first call
 * hands out (faces, maps) stay valid until the next call that replaces them.
 * faceattr_session_set_threshold_policy holds the session the same way. The
 * other session calls (n_attributes, attribute_name, _threshold, _threshold_policy,
 * _has_threshold_policy, backend, model_metadata, has_localizer, stage_info,
 * whole_image_crop, faceattr_session_model) read only what faceattr_session_create
 * fixed, or the threshold policy, which is stored atomically (a read that overlaps
 * faceattr_session_set_threshold_policy sees the old policy or the new one), and may
 * be called from any thread at any time. faceattr_session_free must not overlap any
 * call on the session.
 * A session's n_threads worker threads are its own; sessions share no mutable
 * state, so separate sessions may run at once on separate threads.
 */

FACEATTR_API faceattr_session_params faceattr_session_default_params(void);

/**
 * Creates a session from an ANet model (required) and an optional LNet model,
 * the face localiser (the shipped one is models/lnet-int8.fam). Without an LNet
 * model, or with params.localize = 0, the whole image, centre-cropped to ANet's
 * aspect ratio, is taken as one face (none when its shorter side is under
 * FACEATTR_MIN_WHOLE_IMAGE_SIDE). `params` may be NULL for defaults. An LNet whose output
 * is not f32 [1, map_h, map_w, C], C = 5 for a dense box map (metadata
 * lnet.dense = 1) else 1, is refused (FACEATTR_ERR_MODEL_FORMAT). Every buffer
 * predict uses is allocated here. On success *out owns the session.
 */
FACEATTR_API faceattr_status faceattr_session_create(const void* anet_model, size_t anet_size,
                                                     const void* lnet_model, size_t lnet_size,
                                                     const faceattr_session_params* params,
                                                     faceattr_session** out);

/** Frees a session; NULL is a no-op. */
FACEATTR_API void faceattr_session_free(faceattr_session* session);

/**
 * Finds faces in `image` and predicts their attributes. On success *faces
 * points to *n_faces faces owned by the session (see faceattr_face).
 * Localising (an LNet model and params.localize = 1, the default): the faces
 * LNet finds, strongest first, at most params.max_faces, none whose shorter
 * box side is below params.min_face_size pixels; zero faces (*faces NULL) is
 * a valid result. Each face's ANet input is framed from its box by the LNet's
 * metadata (lnet.crop_w, lnet.crop_h, lnet.crop_dy: a box of side
 * S = sqrt(w * h) centred at (cx, cy + crop_dy * S), crop_w * S wide and
 * crop_h * S tall; without them the box itself), centre-cropped to ANet's
 * aspect ratio, pixels past the image border replicating the edge; the
 * reported box is LNet's. Whole-image mode (no LNet, or params.localize = 0):
 * exactly one face, the centre crop, score 1.
 */
FACEATTR_API faceattr_status faceattr_session_predict(faceattr_session* session, const faceattr_image* image,
                                                      const faceattr_face** faces, int32_t* n_faces);

/**
 * Runs ANet alone on `image` taken as one face crop (centre-cropped to the
 * model's aspect ratio, resized). Fills `probs` (n_attributes floats).
 */
FACEATTR_API faceattr_status faceattr_session_predict_crop(faceattr_session* session,
                                                           const faceattr_image* image, float* probs);

/** Number of attributes the ANet model predicts (40 for CelebA); -1 if session is NULL. */
FACEATTR_API int32_t faceattr_session_n_attributes(const faceattr_session* session);
/** Attribute name, or NULL when out of range. Owned by the session. */
FACEATTR_API const char* faceattr_session_attribute_name(const faceattr_session* session, int32_t index);
/** Decision threshold on the probability under the session's threshold policy, or -1 when out of range. */
FACEATTR_API float faceattr_session_attribute_threshold(const faceattr_session* session, int32_t index);

/**
 * Switches the thresholds that decide faceattr_face.present (and, through them,
 * faceattr_session_attribute_threshold, the tracker's decisions and every other
 * reader of the thresholds) for the session's later calls; faces already returned
 * keep their flags. A tracker on the session decides each track afresh (average
 * >= the new threshold) the next time it sees it, then goes on with its hysteresis.
 * Errors: FACEATTR_ERR_INVALID_ARGUMENT for a null session or a value outside
 * faceattr_threshold_policy; FACEATTR_ERR_UNSUPPORTED when the model has no
 * thresholds for `policy` (faceattr_session_has_threshold_policy); either leaves the
 * policy as it was. Holds the session like predict (FACEATTR_ERR_BUSY while
 * another call runs). Allocates nothing.
 */
FACEATTR_API faceattr_status faceattr_session_set_threshold_policy(faceattr_session* session,
                                                                   faceattr_threshold_policy policy);
/** The session's threshold policy; FACEATTR_THRESHOLDS_ACCURACY for NULL. */
FACEATTR_API faceattr_threshold_policy faceattr_session_threshold_policy(const faceattr_session* session);
/** 1 when the ANet model has thresholds for `policy` (ACCURACY: always), else 0 (also for NULL). */
FACEATTR_API int faceattr_session_has_threshold_policy(const faceattr_session* session,
                                                       faceattr_threshold_policy policy);
/** Backend actually in use (never AUTO). */
FACEATTR_API faceattr_backend faceattr_session_backend(const faceattr_session* session);
/** Model metadata value for `key` (e.g. "name", "license"), or NULL. `which`: 0 ANet, 1 LNet. */
FACEATTR_API const char* faceattr_session_model_metadata(const faceattr_session* session, int32_t which,
                                                         const char* key);

/**
 * Per-stage timing of the last successful predict call, in milliseconds:
 * preprocess, lnet, anet (0 when a stage did not run). With LNet, preprocess
 * (letterbox + face crops) and anet are summed over the faces of the frame.
 */
typedef struct faceattr_timings {
  double preprocess_ms;
  double lnet_ms;
  double anet_ms;
} faceattr_timings;
FACEATTR_API faceattr_status faceattr_session_last_timings(const faceattr_session* session,
                                                           faceattr_timings* out);

/**
 * LNet's face response map (its face score, channel 0 of a multi-channel
 * output) from the last successful predict call (needs a localising session,
 * FACEATTR_ERR_UNSUPPORTED otherwise; FACEATTR_ERR_INVALID_ARGUMENT before the
 * first successful predict). The frame is letterboxed at the
 * top-left of LNet's input, so origin_x = origin_y = 0. `data` holds `height` rows
 * of `width` floats in [0, 1]; map cell (i, j) covers the image rectangle
 * x in [origin_x + j * cell_width, origin_x + (j + 1) * cell_width), and likewise
 * for y, in input-image pixels (cells may extend past the image: letterboxing).
 * Valid until the next predict call on the session or its free.
 */
typedef struct faceattr_response_map {
  const float* data;
  int32_t width;
  int32_t height;
  float origin_x;
  float origin_y;
  float cell_width;
  float cell_height;
} faceattr_response_map;
FACEATTR_API faceattr_status faceattr_session_response_map(const faceattr_session* session,
                                                           faceattr_response_map* out);
/** 1 when predict localises faces (an LNet model and params.localize = 1), else 0. */
FACEATTR_API int faceattr_session_has_localizer(const faceattr_session* session);
/** The calling thread's last error message ("" when none). Valid until the next call on this thread. */
FACEATTR_API const char* faceattr_last_error(void);
/** Short name of a status code, e.g. "FACEATTR_ERR_MODEL_FORMAT". */
FACEATTR_API const char* faceattr_status_string(faceattr_status status);
/** Name of a backend ("reference", "xnnpack", "simd", "auto"). */
FACEATTR_API const char* faceattr_backend_name(faceattr_backend backend);
/** 1 when `backend` is compiled into this build. */
FACEATTR_API int faceattr_backend_available(faceattr_backend backend);

/** What the SIMD backend runs on this CPU (faceattr_get_simd_info). The strings are static. */
typedef struct faceattr_simd_info {
  /** The Highway target it dispatches to here: "AVX3_DL" (AVX-512 with VNNI), "AVX3"
   *  (AVX-512), "AVX2", "SSE4", "SSSE3", "NEON", "WASM", ...; "" without the SIMD backend. */
  const char* target;
  /** Every target compiled into this build, best first, space-separated. */
  const char* compiled;
  /** How int8 convolutions multiply on that target, e.g. "vpdpbusd (u8 x s8, weights in
   *  [-64, 64]); vpdpwssd (int16)". */
  const char* int8_path;
  /** Vector register width in bits on that target (8 on SCALAR, one byte lane); 0 without the SIMD backend.
   */
  int vector_bits;
} faceattr_simd_info;
/** Fills `out`; FACEATTR_ERR_INVALID_ARGUMENT when it is NULL. */
FACEATTR_API faceattr_status faceattr_get_simd_info(faceattr_simd_info* out);
/** "MAJOR.MINOR.PATCH". */
FACEATTR_API const char* faceattr_version(void);

/* ========================================================================
 * Explanations: where an attribute comes from on the face.
 *
 * ANet ends in feature map -> global average pool -> fully connected, so an
 * attribute's logit is the mean over the map's cells of its class-activation
 * map (the FC row applied to the feature vector of each cell) plus the FC's
 * bias. faceattr_session_explain returns those maps for a face of the last
 * predict, from the activations that predict kept: no network runs and
 * nothing is allocated.
 *
 *   const faceattr_face* faces; int32_t n;
 *   faceattr_session_predict(s, &img, &faces, &n);
 *   int32_t attrs[1] = {31};  // Smiling
 *   faceattr_explanation e;
 *   if (faceattr_session_explain(s, 0, attrs, 1, &e) == FACEATTR_OK)
 *     printf("p %.2f, peak (%.0f, %.0f)\n", e.probability, e.peak[0], e.peak[1]);
 * ======================================================================== */

/**
 * A concept's share of an attribute's logit, from the concept heads a model
 * may carry in its metadata (concepts.*, docs/model-format.md): concepts are
 * groups of ANet's last-layer units, and each attribute has a sparse linear
 * head over a few of them. A term's contribution is its weight times the
 * concept's activation on this face (positive: evidence for the attribute).
 */
typedef struct faceattr_concept_contribution {
  const char* name;
  float contribution;
} faceattr_concept_contribution;

/**
 * One attribute of one face. The map has `height` rows of `width` cells;
 * cell (i, j) (row i, column j) is centred at image pixel
 * (box[0] + (j + 0.5) * cell_width, box[1] + (i + 0.5) * cell_height): the
 * centre of its receptive field in the face's ANet crop, so that box is the
 * crop shifted by the network's padding offset (for the shipped ANet, 7.5
 * ANet-input pixels up and left; same size). map values are
 *
 *   map(i, j) = sum_c W[a][c] * (F(i, j, c) + r[c]),   r[c] = G[c] - mean_ij F(i, j, c),
 *
 * W the FC weights, F the feature map, G the pooled vector the FC read (all
 * real-valued: int8 tensors dequantised with their scales and zero points).
 * r is the pooling's rounding (float rounding for f32 models; the requantised
 * pool output's rounding for int8 ones), spread over the cells so that
 * mean(map) + bias is exactly the FC's real-valued pre-activation. For f32
 * models that is the logit; for int8 ones the logit is the FC output after
 * requantisation, within half its quantisation step (more only where it
 * saturates).
 *
 * The peak is where this face differs most, for its decision, from training
 * faces of the other kind (explain.average_maps metadata, written by
 * `faceattr_train anet-average-maps`). Every face's map is high in some cells
 * (the network's position bias), which says nothing about this face; so:
 *   - the face judged to have the attribute (faceattr_face.present): the peak
 *     is where its map most exceeds average_map, the map averaged over training
 *     faces labelled without the attribute (contrast = 1);
 *   - judged without it: where its map falls furthest below average_map, the
 *     map averaged over training faces labelled with the attribute (contrast =
 *     -1), when the model has that average; else as above (contrast = 1).
 * A model without average maps has average_map NULL, contrast 0, and the peak
 * is the map's own maximum. contrast * (map - average_map) is what the peak
 * maximises: the CLI's heat maps and the demo draw it.
 *
 * With params.anet_views = 2 the map, bias, logit and peak describe the first
 * view (the face's crop as it is); probability is the face's, both views combined.
 */
typedef struct faceattr_explanation {
  int32_t attribute;    /* the attribute index asked for */
  float probability;    /* faceattr_face.probs[attribute] */
  float logit;          /* the value the sigmoid read */
  float bias;           /* the FC bias: mean(map) + bias = the pre-activation */
  int32_t width;        /* map cells per row */
  int32_t height;       /* map rows */
  const float* map;     /* height x width floats, row-major; session-owned, valid until the next predict */
  float box[4];         /* x, y, w, h in image pixels: the area the cells tile (see above) */
  float cell_width;     /* box[2] / width */
  float cell_height;    /* box[3] / height */
  float crop[4];        /* the face's ANet crop (x, y, w, h in image pixels) */
  float peak[2];        /* image pixels: the arg-max cell's centre, refined by a parabola through
                           it and its neighbours along each axis (within half a cell); the arg-max
                           of contrast * (map - average_map), or of map when average_map is NULL */
  int32_t peak_cell[2]; /* column, row of the arg-max cell */
  float peak_value;     /* map value at the arg-max cell */
  int32_t n_concepts;   /* terms of the attribute's concept head (0 for a model without concepts) */
  const faceattr_concept_contribution* concepts; /* n_concepts entries, largest |contribution| first;
                                                    NULL when none; session-owned, valid until the
                                                    next predict */
  const float* average_map; /* height x width floats: the attribute's average map over training
                               faces without it (contrast 1) or with it (contrast -1), or NULL (see
                               above); owned by the session, valid until its free */
  int32_t contrast;         /* 1, -1 or 0 (no average map): see above */
} faceattr_explanation;

/**
 * Explains attributes attributes[0 .. n_attributes) of face `face_index` of
 * the last successful faceattr_session_predict into out[0 .. n_attributes).
 * The maps live in the session (one per face and attribute) until the next
 * predict or the session's free; explaining a face again rewrites its maps
 * with the same values. Errors: FACEATTR_ERR_INVALID_ARGUMENT for a null
 * argument, no successful predict yet (predict_crop does not count), a face
 * index outside [0, n_faces) or an attribute outside [0, n_attributes);
 * FACEATTR_ERR_UNSUPPORTED when the ANet does not end feature map ->
 * GlobalAvgPool -> FullyConnected (no activation) [-> Dequantize] [-> Sigmoid].
 * Allocates nothing.
 */
FACEATTR_API faceattr_status faceattr_session_explain(faceattr_session* session, int32_t face_index,
                                                      const int32_t* attributes, int32_t n_attributes,
                                                      faceattr_explanation* out);

/* ========================================================================
 * Models and the staged pipeline: for callers that run the networks on an
 * accelerator of their own (the browser module's WebGPU backend), and for
 * tools that describe model files (`faceattr info`).
 *
 * A faceattr_model is a loaded, validated model file: its header fields and
 * its graph, read-only. The staged calls are the steps of
 * faceattr_session_predict around the two networks, so that a caller running
 * the networks elsewhere sees the same pixels, decodes the LNet maps the same
 * way and frames the same ANet crops:
 *
 *   faceattr_stage_info si;
 *   faceattr_session_stage_info(s, &si);
 *   faceattr_face_crop faces[...];  // si.face_slots entries
 *   int32_t n = 0;
 *   if (si.lnet_passes > 0) {  // localising
 *     faceattr_letterbox lb[FACEATTR_MAX_LNET_PASSES];
 *     for (int32_t k = 0; k < si.lnet_passes; ++k)
 *       faceattr_session_lnet_input(s, &img, k, lnet_in[k], &lb[k]);
 *     ... run LNet on each lnet_in[k] into maps[k] ...
 *     faceattr_session_decode_faces(s, maps, lb, si.lnet_passes, faces, &n);
 *   } else {
 *     faceattr_session_whole_image_crop(s, &img, &faces[0]);
 *     n = min(img.width, img.height) >= FACEATTR_MIN_WHOLE_IMAGE_SIDE ? 1 : 0;
 *   }
 *   for (int32_t f = 0; f < n; ++f) faceattr_session_anet_input(s, &img, faces[f].crop, anet_in[f]);
 *   ... run ANet on each anet_in[f]: the attribute probabilities of face f ...
 *   (with stage_info.anet_views = 2, also faceattr_session_anet_view_input(..., 1, ...)
 *   per face, ANet on that, and faceattr_combine_views of the two)
 *
 * Network inputs are f32 NHWC [1, input_height, input_width, 3], RGB,
 * (pixel / 255 - mean[c]) / std[c] (faceattr_model_info). The staged calls
 * allocate nothing; like predict they use the session's threads.
 * ======================================================================== */

/** Most LNet passes per frame (faceattr_stage_info.lnet_passes). */
#define FACEATTR_MAX_LNET_PASSES 8

/** Element types of model tensors (the model file's values, docs/model-format.md). */
typedef enum faceattr_dtype {
  FACEATTR_DTYPE_F32 = 0,
  FACEATTR_DTYPE_I8 = 1, /* quantised: value = (q - zero_point) * scale */
  FACEATTR_DTYPE_I32 = 2 /* quantised int8 biases, scale = input scale x weight scale */
} faceattr_dtype;

typedef struct faceattr_model faceattr_model;

/**
 * A model's header fields. Strings and arrays belong to the model and stay
 * valid while it does.
 */
typedef struct faceattr_model_info {
  const char* kind; /* "anet" (attributes) or "lnet" (localiser) */
  const char* name;
  const char* description;
  int32_t input_width; /* the input is f32 NHWC [1, input_height, input_width, 3], RGB */
  int32_t input_height;
  float mean[3]; /* input = (pixel / 255 - mean[c]) / std[c] */
  float std[3];
  int32_t n_attributes; /* ANet outputs: probabilities of these attributes */
  const char* const* attribute_names;
  const float* thresholds; /* decision threshold per attribute (FACEATTR_THRESHOLDS_ACCURACY's) */
  int32_t n_metadata;      /* key/value pairs in file order */
  const char* const* metadata_keys;
  const char* const* metadata_values;
  int32_t n_tensors; /* faceattr_model_get_tensor(0 .. n_tensors - 1) */
  int32_t n_nodes;   /* faceattr_model_get_node(0 .. n_nodes - 1), in execution order */
  int32_t input;     /* tensor index of the network input */
  int32_t n_outputs;
  const int32_t* outputs;           /* tensor indices of the network outputs */
  const float* balanced_thresholds; /* FACEATTR_THRESHOLDS_BALANCED's, n_attributes entries; NULL
                                       when the model has none */
} faceattr_model_info;

/** A tensor of the graph: an activation (computed) or a constant (weights in the file). */
typedef struct faceattr_tensor_info {
  const char* name;
  faceattr_dtype dtype;
  int32_t n_dims;
  const int32_t* shape; /* NHWC activations; conv weights OHWI, depthwise 1HWC */
  int32_t n_scales;     /* 0 for f32; 1 (per tensor) or one per output channel */
  const float* scales;
  const int32_t* zero_points; /* n_scales entries */
  int32_t constant;           /* 1: a constant, its bytes at data */
  const void* data;           /* constants: data_size bytes, little-endian, 64-byte aligned; else NULL */
  size_t data_size;
} faceattr_tensor_info;

/** A node of the graph: an op, its attributes and its tensors. */
typedef struct faceattr_node_info {
  const char* name;
  const char* op; /* "Conv2d", "FullyConnected", "MaxPool2d", "AvgPool2d", "GlobalAvgPool", "Add",
                     "Concat", "Sigmoid", "Activation", "Quantize", "Dequantize" */
  int32_t n_inputs;
  const int32_t* inputs; /* tensor indices; -1: an absent optional bias */
  int32_t output;        /* tensor index */
  int32_t kernel_h, kernel_w, stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int32_t groups;
  int32_t axis;           /* Concat */
  const char* activation; /* fused or the Activation op's: "none", "relu", "relu6", "leaky_relu" */
  float leaky_alpha;
} faceattr_node_info;

/**
 * Reads and validates a model file from `size` bytes, as faceattr_session_create
 * does, without a session (no kernels, no buffers for running it). The buffer may
 * be freed once the call returns. On success *out owns the model.
 */
FACEATTR_API faceattr_status faceattr_model_load(const void* data, size_t size, faceattr_model** out);
/** Frees a model from faceattr_model_load; NULL is a no-op. */
FACEATTR_API void faceattr_model_free(faceattr_model* model);
/** A network of a session (`which`: 0 ANet, 1 LNet), or NULL when absent. Owned by the session. */
FACEATTR_API const faceattr_model* faceattr_session_model(const faceattr_session* session, int32_t which);
FACEATTR_API faceattr_status faceattr_model_get_info(const faceattr_model* model, faceattr_model_info* out);
/** Tensor `index` in [0, n_tensors); FACEATTR_ERR_INVALID_ARGUMENT out of range. */
FACEATTR_API faceattr_status faceattr_model_get_tensor(const faceattr_model* model, int32_t index,
                                                       faceattr_tensor_info* out);
/** Node `index` in [0, n_nodes); FACEATTR_ERR_INVALID_ARGUMENT out of range. */
FACEATTR_API faceattr_status faceattr_model_get_node(const faceattr_model* model, int32_t index,
                                                     faceattr_node_info* out);

/**
 * What a session's staged pipeline needs sized (faceattr_session_stage_info).
 * LNet runs lnet_passes times per frame: pass 0 on the frame letterboxed at
 * LNet's input size, further passes on smaller letterboxes (a coarse half-size
 * pass, or the levels of an image pyramid, as the LNet's metadata asks). Each
 * pass outputs a map of map_height rows of map_width cells of map_channels
 * floats (HWC; channel 0 is the face score in [0, 1]). A map cell spans
 * cell_width x cell_height LNet-input pixels, that is cell_width /
 * faceattr_letterbox.scale_x frame pixels (as faceattr_response_map reports it).
 */
typedef struct faceattr_stage_info {
  int32_t face_slots;  /* most faces per frame: params.max_faces when localising, else 1 */
  int32_t lnet_passes; /* in [1, FACEATTR_MAX_LNET_PASSES]; 0 (and the fields below 0) when the
                          session does not localise (faceattr_session_has_localizer) */
  int32_t map_width;
  int32_t map_height;
  int32_t map_channels;
  float cell_width;
  float cell_height;
  int32_t anet_views; /* params.anet_views: ANet inputs per face (faceattr_session_anet_view_input) */
} faceattr_stage_info;
FACEATTR_API faceattr_status faceattr_session_stage_info(const faceattr_session* session,
                                                         faceattr_stage_info* out);

/**
 * Where a frame sits in an LNet input: scaled with its aspect kept, it fills
 * content_width x content_height pixels at the top-left; the rest is 0.
 * Frame x = LNet-input x / scale_x (likewise y).
 */
typedef struct faceattr_letterbox {
  int32_t content_width;
  int32_t content_height;
  float scale_x; /* LNet-input pixels per frame pixel */
  float scale_y;
} faceattr_letterbox;

/** A face of the staged pipeline: its box and score as faceattr_face reports them, and its ANet crop. */
typedef struct faceattr_face_crop {
  float box[4];  /* x, y, w, h in frame pixels */
  float score;   /* in [0, 1]; 1 in whole-image mode */
  float crop[4]; /* x, y, w, h: the frame region ANet reads (faceattr_session_predict tells how it is
                    framed); may extend past the frame */
} faceattr_face_crop;

/**
 * Letterboxes `image` for LNet pass `pass` (in [0, lnet_passes)) into `input`
 * (LNet's f32 [1, H, W, 3] input: input_width x input_height x 3 floats) and
 * fills *letterbox, which faceattr_session_decode_faces needs back.
 * FACEATTR_ERR_UNSUPPORTED when the session does not localise.
 */
FACEATTR_API faceattr_status faceattr_session_lnet_input(faceattr_session* session,
                                                         const faceattr_image* image, int32_t pass,
                                                         float* input, faceattr_letterbox* letterbox);

/**
 * Decodes LNet's output maps of one frame into faces, strongest first, at most
 * params.max_faces, none whose shorter side is below params.min_face_size, each
 * with its ANet crop. maps[k] is pass k's output (map_height x map_width x
 * map_channels floats, HWC) for the input letterboxed as letterboxes[k];
 * n_maps in [1, lnet_passes] (with fewer maps than passes the decoder uses
 * what it has). `faces` holds face_slots entries; *n_faces may be 0.
 */
FACEATTR_API faceattr_status faceattr_session_decode_faces(faceattr_session* session,
                                                           const float* const* maps,
                                                           const faceattr_letterbox* letterboxes,
                                                           int32_t n_maps, faceattr_face_crop* faces,
                                                           int32_t* n_faces);

/** The whole-image face of `image`: its centre crop to ANet's aspect (box = crop), score 1. */
FACEATTR_API faceattr_status faceattr_session_whole_image_crop(const faceattr_session* session,
                                                               const faceattr_image* image,
                                                               faceattr_face_crop* out);

/**
 * Resamples the region `crop` (x, y, w, h in frame pixels, a faceattr_face_crop's
 * crop) of `image` into `input`, ANet's f32 [1, H, W, 3] input (input_width x
 * input_height x 3 floats). Pixels past the frame border replicate the edge.
 */
FACEATTR_API faceattr_status faceattr_session_anet_input(faceattr_session* session,
                                                         const faceattr_image* image, const float crop[4],
                                                         float* input);

/**
 * ANet view `view` of a face crop, for a session with params.anet_views = 2:
 * view 0 is faceattr_session_anet_input's; view 1 is the crop shrunk to
 * FACEATTR_SECOND_VIEW_SCALE about its centre, resampled the same way and then
 * mirrored left to right. Run ANet on both and pass their probabilities to
 * faceattr_combine_views: that is what predict reports.
 * FACEATTR_ERR_INVALID_ARGUMENT for a view outside [0, anet_views).
 */
FACEATTR_API faceattr_status faceattr_session_anet_view_input(faceattr_session* session,
                                                              const faceattr_image* image,
                                                              const float crop[4], int32_t view,
                                                              float* input);

/**
 * Two views' probabilities (n each) combined as predict combines them:
 * out[i] = sigmoid((logit(first[i]) + logit(second[i])) / 2), each p clamped to
 * [2^-20, 1 - 2^-20]. `out` may be `first` or `second`.
 */
FACEATTR_API faceattr_status faceattr_combine_views(const float* first, const float* second, int32_t n,
                                                    float* out);

/* ========================================================================
 * Video: face tracks with steady boxes and attributes.
 *
 * A tracker follows the faces of one stream, fed its frames in order. Each
 * face keeps a track id across frames; its box is smoothed by a One Euro filter
 * (still when the face is still, quick when it moves); each attribute's
 * probability is averaged over the last `window` frames, weighted by the face
 * score, and its decision has hysteresis: it turns on when the average reaches
 * thr + 2 * hysteresis * (1 - thr) and off when it falls below
 * thr - 2 * hysteresis * thr (thr: the session's threshold for the attribute
 * under its threshold policy; thr +- hysteresis at 0.5). A new track decides
 * average >= thr on its first frame and again once its window is half full (so
 * one frame near the threshold does not decide for the whole track); later the
 * decision also follows an average that has stayed on the other side of thr for
 * 4 * window frames in a row, so a value that settles inside the band is not
 * held off for ever. A face near a threshold does not flicker.
 *
 *   faceattr_tracker_params tp = faceattr_tracker_default_params();
 *   faceattr_tracker* t = NULL;
 *   faceattr_tracker_create(session, &tp, &t);
 *   for (each frame) {
 *     const faceattr_track* tracks; int32_t n;
 *     if (faceattr_tracker_track(t, &frame, timestamp_ms, &tracks, &n) == FACEATTR_OK)
 *       for (int32_t i = 0; i < n; ++i) printf("%d smiling %.2f\n", tracks[i].id, tracks[i].probs[31]);
 *   }
 *   faceattr_tracker_free(t);
 *
 * faceattr_tracker_track runs the session itself. With a localising session it
 * runs the full localiser pass (the whole frame) on the first frame, whenever a
 * track is lost or a frame has no confident track, and at least every
 * `detect_interval` frames; on the frames between, it searches each track near
 * its last box alone: LNet on a small window around the box, then ANet on the
 * face it finds there. A track the local search cannot confirm triggers a full
 * pass on the same frame. faceattr_tracker_get_stats counts both kinds of pass.
 * Faces are matched to tracks by box overlap (IoU >= match_iou) and, when
 * appearance_min > 0, by the cosine similarity of ANet's pooled features
 * (centred: their mean over channels taken out): a detection that overlaps a
 * track but no longer looks like it (a face swapped in place) ends that track
 * and starts a new one. Faces cut by the frame's border (less than 90% of the
 * box inside) are not compared.
 *
 * faceattr_tracker_update is the same tracker fed faces found elsewhere (the
 * browser module's WebGPU backend runs the networks itself): no local search,
 * no appearance test unless features are given.
 *
 * The tracker uses its session (which must outlive it) for every call but
 * faceattr_tracker_get_stats, with the session's one-call-at-a-time rule: a
 * tracker call while another call runs on the session returns
 * FACEATTR_ERR_BUSY. faceattr_tracker_get_stats reads the tracker alone and
 * must not overlap a call that updates it (track, update, reset) or its free.
 *
 * After faceattr_tracker_track the session's last predict is the tracker's
 * frame: faceattr_session_explain takes a track's face_index (and
 * faceattr_session_last_timings has the frame's stages);
 * faceattr_session_response_map keeps the last full pass's map. A face that
 * enters the frame while every track is found by local search is found by the
 * next full pass, at most detect_interval - 1 frames later. Tracks and their
 * arrays stay valid until the next tracker call that changes them (track,
 * update, reset) or its free. Nothing is allocated after create.
 * ======================================================================== */

typedef struct faceattr_tracker faceattr_tracker;

/** Tracker options. Start from faceattr_tracker_default_params(). */
typedef struct faceattr_tracker_params {
  float fps;               /* frame rate assumed when a call's timestamp_ms is negative; default 30 */
  float min_cutoff;        /* One Euro filter cutoff at rest, Hz; default 0.5 */
  float beta;              /* One Euro speed coefficient, per (box side per second); default 3 */
  float d_cutoff;          /* One Euro derivative cutoff, Hz; default 1.0 */
  int32_t window;          /* frames in each attribute's average, in [1, 64]; default 8 */
  float hysteresis;        /* decision margin on the averaged probability, in [0, 0.5); default 0.1 */
  float match_iou;         /* least box overlap that continues a track, in (0, 1]; default 0.3 */
  float appearance_min;    /* least cosine similarity of ANet features that continues a track;
                              0 disables the test; default 0.5 */
  int32_t max_missed;      /* frames a track lives unseen before it ends; default 10 */
  int32_t max_tracks;      /* tracks at once; default (0): the session's max_faces */
  int32_t detect_interval; /* a full localiser pass at least every this many frames; 1: every
                              frame (no local search); default 6 */
  float local_min_score;   /* a local search finding no face of at least this score loses the
                              track for that search; default 0.5 */
} faceattr_tracker_params;

/**
 * A tracked face on the current frame. probs and present have n_attributes
 * entries; like the array of tracks they belong to the tracker.
 */
typedef struct faceattr_track {
  int32_t id;             /* >= 1, unique in the stream until reset */
  float box[4];           /* smoothed box: x, y, w, h in frame pixels */
  float raw_box[4];       /* this frame's detection */
  float score;            /* this frame's face score */
  const float* probs;     /* averaged probabilities */
  const uint8_t* present; /* decisions with hysteresis */
  int32_t age;            /* frames since the track started (0 on its first) */
  int32_t face_index;     /* the face of the session's last predict for faceattr_session_explain;
                             -1 after faceattr_tracker_update */
} faceattr_track;

/** Counters since create or reset. */
typedef struct faceattr_tracker_stats {
  int64_t frames;
  int64_t full_passes;  /* frames that ran the localiser on the whole frame */
  int64_t local_passes; /* frames served by local searches alone */
  int64_t tracks_started;
} faceattr_tracker_stats;

FACEATTR_API faceattr_tracker_params faceattr_tracker_default_params(void);

/**
 * Creates a tracker on `session` (which must outlive it). `params` may be NULL
 * for defaults; a value out of range is FACEATTR_ERR_INVALID_ARGUMENT. Plans
 * every buffer the tracker needs (for a localising session, the local-search
 * LNet too).
 */
FACEATTR_API faceattr_status faceattr_tracker_create(faceattr_session* session,
                                                     const faceattr_tracker_params* params,
                                                     faceattr_tracker** out);
/** Frees a tracker; NULL is a no-op. */
FACEATTR_API void faceattr_tracker_free(faceattr_tracker* tracker);
/** Forgets every track and counter: the next frame starts a new stream (ids from 1). */
FACEATTR_API faceattr_status faceattr_tracker_reset(faceattr_tracker* tracker);

/**
 * Runs the session on the next frame of the stream and updates the tracks.
 * `timestamp_ms` is the frame's time (non-decreasing), or negative to advance
 * by 1000 / fps. On success *tracks points to the *n_tracks tracks seen on this
 * frame, oldest track first.
 */
FACEATTR_API faceattr_status faceattr_tracker_track(faceattr_tracker* tracker, const faceattr_image* image,
                                                    double timestamp_ms, const faceattr_track** tracks,
                                                    int32_t* n_tracks);

/**
 * Updates the tracks with faces found elsewhere on the next frame: `faces[0 ..
 * n_faces)` (box, score and probs read; present ignored), and optionally their
 * ANet pooled features (`features`: n_faces x n_features floats, or NULL).
 */
FACEATTR_API faceattr_status faceattr_tracker_update(faceattr_tracker* tracker, const faceattr_face* faces,
                                                     int32_t n_faces, const float* features,
                                                     int32_t n_features, double timestamp_ms,
                                                     const faceattr_track** tracks, int32_t* n_tracks);

FACEATTR_API faceattr_status faceattr_tracker_get_stats(const faceattr_tracker* tracker,
                                                        faceattr_tracker_stats* out);

#ifdef __cplusplus
} /* extern "C" */

#endif

#endif /* FACEATTR_FACEATTR_H */
