"""Oracle for mer's audio reader: a WAV/FLAC file as python3-soundfile decodes it, at its own
rate, as mono float32 (the mean of the channels in float32, as libswresample's normalised
stereo matrix gives), written raw (little-endian float32) to the output path.

    pcm_soundfile.py in.flac out.f32
"""
import sys

import numpy as np
import soundfile


def main():
    src, dst = sys.argv[1], sys.argv[2]
    x, _ = soundfile.read(src, dtype="float32", always_2d=True)
    if x.shape[1] == 1:
        mono = x[:, 0]
    else:
        mono = (x.sum(axis=1, dtype=np.float32) * np.float32(1.0 / x.shape[1])).astype(np.float32)
    mono.astype("<f4").tofile(dst)


if __name__ == "__main__":
    main()
