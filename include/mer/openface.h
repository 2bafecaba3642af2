/*
 * openface.h: what MER participants already have from OpenFace, read as it is.
 *
 * Face frames, one at a time in bounded memory (one frame's buffer), as RGB24:
 *   - MERTools' face stacks, openface_face/<name>/<name>.npy: [T, H, W, 3] uint8, C order.
 *     MERTools fills them with cv2.imread of OpenFace's crops, so the channels are stored
 *     B, G, R; they are swapped to R, G, B unless params.npy_rgb says they are RGB already;
 *   - OpenFace's aligned crops, <name>_aligned/frame_det_00_000001.bmp, ...: every *.bmp of
 *     the directory in natural order (digit runs compared as numbers), each a 24-bit
 *     uncompressed BMP (bottom-up or top-down); other BMPs are refused, naming the file.
 * Every frame of a clip has the first frame's size (else an error naming the file).
 *
 *     mer_faces *f;
 *     struct mer_face_frame fr;
 *     if (mer_faces_open(&f, "openface_face/s1/s1.npy", NULL) < 0) ...;   // mer_errmsg()
 *     while ((r = mer_faces_next(f, &fr)) == 1)
 *         use(fr.rgb, fr.w, fr.h);          // [h][w][3], borrowed until the next call
 *     mer_faces_close(f);                   // r < 0: an error, r == 0: the end
 *
 * OpenFace FeatureExtraction's per-frame CSV (<name>.csv; headers "frame, face_id, ..." with a
 * space after each comma, as OpenFace writes them) → functionals over the frames whose
 * success is 1; frames with success 0 are counted, not used:
 *
 *     float v[MER_OPENFACE_MAX_DIM];
 *     struct mer_openface_stats st;
 *     struct mer_openface_params p = mer_openface_default_params();
 *     int r = mer_openface_read_csv("openface/s1.csv", &p, v, &st);
 *     // 1: v[mer_openface_dim(p.groups)] written; 0: no successful frame (st.skip says so);
 *     // -1: a missing column or a bad value ("'s1.csv': missing column 'AU45_c'")
 *
 * The functionals, in this order (one table, MER_OPENFACE_COLUMNS, names them all):
 *   AU_r: mean of the 17 intensities AU01_r ... AU45_r, then their std (ddof 0)    34
 *   AU_c: mean of the 18 presences AU01_c ... AU45_c (the fraction of frames)       18
 *   pose: mean of pose_Tx, pose_Ty, pose_Tz, pose_Rx, pose_Ry, pose_Rz, then std   12
 *   gaze: mean of gaze_0_x ... gaze_1_z, gaze_angle_x, gaze_angle_y, then std      16
 * 80 values with every group; names are "<column>_mean" and "<column>_std".
 */
#ifndef MER_OPENFACE_H
#define MER_OPENFACE_H

#include <stddef.h>
#include <stdint.h>

/* ---- face frames ---- */

struct mer_faces_params {
    int npy_rgb; /* 0 (default): a .npy stack holds B, G, R (MERTools); 1: R, G, B */
};

typedef struct mer_faces mer_faces;

struct mer_face_frame {
    const uint8_t *rgb; /* [h][w][3] R, G, B; borrowed until the next call or the close */
    int w, h;
    int64_t index;  /* 0-based position in the clip */
    int64_t number; /* OpenFace's frame number: the last digit run of a BMP's name (1 for
                       frame_det_00_000001.bmp), index + 1 in a .npy stack */
};

/*
 * Opens path: a .npy face stack, or a directory of BMP crops. params may be NULL (defaults).
 * A stack must be [T, H, W, 3] uint8 in C order, else one line such as
 *     'x.npy': shape [16, 112, 112], expected [T, H, W, 3] uint8
 * A directory without any .bmp opens with 0 frames. New handle in *out; free with
 * mer_faces_close. -1 with the error set.
 */
int mer_faces_open(mer_faces **out, const char *path, const struct mer_faces_params *params);
/* Frames in the clip (T, or the number of .bmp files). */
int64_t mer_faces_count(const mer_faces *f);
/* The next frame into *fr: 1, or 0 after the last, or -1 with the error set (a BMP that is
 * not 24-bit uncompressed, a truncated file, a frame of another size). */
int mer_faces_next(mer_faces *f, struct mer_face_frame *fr);
/* NULL is fine. */
void mer_faces_close(mer_faces *f);

/*
 * Where a clip's faces are under dir, the first that exists of
 *     dir/<name>/<name>.npy   (MERTools' openface_face)
 *     dir/<name>.npy
 *     dir/<name>_aligned/     (OpenFace -out_dir dir)
 *     dir/<name>/<name>_aligned/
 * 1 and a new path in *path (free with free()), 0 if none exists (*path NULL), -1 on out of
 * memory.
 */
int mer_faces_find(char **path, const char *dir, const char *name);

/* ---- FeatureExtraction CSVs ---- */

enum mer_openface_group {
    MER_OPENFACE_AU_R = 1 << 0, /* AU intensities, 0..5: mean, std */
    MER_OPENFACE_AU_C = 1 << 1, /* AU presence, 0/1: mean */
    MER_OPENFACE_POSE = 1 << 2, /* head pose, mm and radians: mean, std */
    MER_OPENFACE_GAZE = 1 << 3, /* gaze vectors and angles: mean, std */
    MER_OPENFACE_ALL = 15
};

/* The one name table: X(group, column) in the order of the functionals. */
#define MER_OPENFACE_COLUMNS(X)                                                                    \
    X(AU_R, "AU01_r")                                                                              \
    X(AU_R, "AU02_r")                                                                              \
    X(AU_R, "AU04_r")                                                                              \
    X(AU_R, "AU05_r")                                                                              \
    X(AU_R, "AU06_r")                                                                              \
    X(AU_R, "AU07_r")                                                                              \
    X(AU_R, "AU09_r")                                                                              \
    X(AU_R, "AU10_r")                                                                              \
    X(AU_R, "AU12_r")                                                                              \
    X(AU_R, "AU14_r")                                                                              \
    X(AU_R, "AU15_r")                                                                              \
    X(AU_R, "AU17_r")                                                                              \
    X(AU_R, "AU20_r")                                                                              \
    X(AU_R, "AU23_r")                                                                              \
    X(AU_R, "AU25_r")                                                                              \
    X(AU_R, "AU26_r")                                                                              \
    X(AU_R, "AU45_r")                                                                              \
    X(AU_C, "AU01_c")                                                                              \
    X(AU_C, "AU02_c")                                                                              \
    X(AU_C, "AU04_c")                                                                              \
    X(AU_C, "AU05_c")                                                                              \
    X(AU_C, "AU06_c")                                                                              \
    X(AU_C, "AU07_c")                                                                              \
    X(AU_C, "AU09_c")                                                                              \
    X(AU_C, "AU10_c")                                                                              \
    X(AU_C, "AU12_c")                                                                              \
    X(AU_C, "AU14_c")                                                                              \
    X(AU_C, "AU15_c")                                                                              \
    X(AU_C, "AU17_c")                                                                              \
    X(AU_C, "AU20_c")                                                                              \
    X(AU_C, "AU23_c")                                                                              \
    X(AU_C, "AU25_c")                                                                              \
    X(AU_C, "AU26_c")                                                                              \
    X(AU_C, "AU28_c")                                                                              \
    X(AU_C, "AU45_c")                                                                              \
    X(POSE, "pose_Tx")                                                                             \
    X(POSE, "pose_Ty")                                                                             \
    X(POSE, "pose_Tz")                                                                             \
    X(POSE, "pose_Rx")                                                                             \
    X(POSE, "pose_Ry")                                                                             \
    X(POSE, "pose_Rz")                                                                             \
    X(GAZE, "gaze_0_x")                                                                            \
    X(GAZE, "gaze_0_y")                                                                            \
    X(GAZE, "gaze_0_z")                                                                            \
    X(GAZE, "gaze_1_x")                                                                            \
    X(GAZE, "gaze_1_y")                                                                            \
    X(GAZE, "gaze_1_z")                                                                            \
    X(GAZE, "gaze_angle_x")                                                                        \
    X(GAZE, "gaze_angle_y")

#define MER_OPENFACE_MAX_DIM 80

struct mer_openface_params {
    unsigned groups; /* enum mer_openface_group mask; default MER_OPENFACE_ALL */
};
struct mer_openface_params mer_openface_default_params(void);

/* Number of functionals for a group mask (80 for all, 0 for none). */
size_t mer_openface_dim(unsigned groups);
/* Name of functional i (< mer_openface_dim(groups)), "AU01_r_mean", into buf; buf. */
const char *mer_openface_name(unsigned groups, size_t i, char *buf, size_t size);

struct mer_openface_stats {
    size_t frames;  /* data rows */
    size_t used;    /* rows with success 1 */
    size_t skipped; /* rows with success 0 */
    char skip[128]; /* when no row was used: why ("no frame with success 1 (of 12)") */
};

/*
 * Reads path (csv.h's reader) and writes the functionals of the groups in params (NULL: all)
 * into out[mer_openface_dim(groups)]. Every column of the groups and `success` must be in the
 * header (else "'<path>': missing column 'AU45_c'"); every used value must be a finite number
 * and success 0 or 1 (else "'<path>':<line>: column 'pose_Tx': 'abc' is not a number").
 * 1 ok, 0 no successful frame (out zeroed, st->skip set), -1 with the error set.
 */
int mer_openface_read_csv(const char *path, const struct mer_openface_params *params, float *out,
                          struct mer_openface_stats *st);

/*
 * Where a clip's CSV is under dir: dir/<name>.csv (OpenFace -out_dir dir), then
 * dir/<name>/<name>.csv. As mer_faces_find: 1 (new *path), 0 none, -1 out of memory.
 */
int mer_openface_find_csv(char **path, const char *dir, const char *name);

#endif
