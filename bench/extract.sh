#!/usr/bin/env bash
# Extraction benchmark (called by scripts/bench; not a test: numbers only). In one run on this
# machine, over the same audio:
#   - fbank alone on decoded audio, one core (mer-bench-fbank: 1000 s, CPU time)
#   - decoding alone: ffmpeg -threads 1 -i clip -f null - (AAC mp4)
#   - decode + 16 kHz + fbank: mer extract audio --jobs 1, and --jobs 2
#   - torchaudio.compliance.kaldi.fbank over the same decoded audio (Python, one thread)
#   - eGeMAPS: mer extract audio --features egemaps --jobs 1
#   - peak RSS of mer extract audio (fbank) on a one-hour clip
#   - video: decode + sample (10 fps) + HOG in frames/s beside ffmpeg's decode + fps + scale,
#     --jobs 1 and 2, and the peak RSS on a ten-minute clip
# Speeds are in x realtime (seconds of audio per second); per core unless --jobs 2.
# Usage: bench/extract.sh MER BUILD_DIR WORKDIR
set -euo pipefail
mer=$1 build=$2 work=$3
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
cd "$work"
clips=clips n_clips=${MER_BENCH_CLIPS:-24}
if [ ! -s speech.wav ]; then
  # a minute of speech: espeak-ng sentences, mixed with a little noise, at 16 kHz
  for i in $(seq 1 12); do
    espeak-ng -v en -s $((140 + 5 * i)) -p $((30 + 3 * i)) -w "s$i.wav" \
      "Sentence number $i of the benchmark, spoken at its own pace and pitch, with some pauses."
  done
  ls s*.wav | sort -V | sed 's/^/file /' >list.txt
  ffmpeg -v error -y -f concat -safe 0 -i list.txt -af "aresample=16000" -ac 1 \
    -t 60 speech.wav
  rm -f s[0-9]*.wav list.txt
fi
if [ ! -d "$clips" ]; then
  mkdir -p "$clips"
  ffmpeg -v error -y -stream_loop 1 -i speech.wav -t 60 -c:a aac -b:a 64k -ar 44100 -ac 2 one.mp4
  for i in $(seq 1 "$n_clips"); do cp one.mp4 "$clips/c$i.mp4"; done
fi
seconds=$((60 * n_clips))

t0=$(date +%s.%N)
for f in "$clips"/*.mp4; do ffmpeg -v error -threads 1 -i "$f" -f null -; done
t1=$(date +%s.%N)
ffmpeg_x=$(/usr/bin/python3 -c "print('%.0f' % ($seconds / ($t1 - $t0)))")

extract() { # extract JOBS FEATURES: prints the x realtime of the summary line
  "$mer" extract audio "$clips" -o "ex.safetensors" --force --jobs "$1" --features "$2" 2>/dev/null |
    sed -n 's/.* at \([0-9]*\)x realtime).*/\1/p'
}
fb1=$(extract 1 fbank)
fb2=$(extract 2 fbank)
eg1=$(extract 1 egemaps)

cmake --build "$build" --target mer-bench-fbank >/dev/null
alone=$("$build/mer-bench-fbank" 1000 | sed -n 's/^fbank 80: \([0-9]*\) x realtime.*/\1/p')

ta=$(OMP_NUM_THREADS=1 /usr/bin/python3 - <<'PY'
import time, torch, torchaudio, soundfile as sf
torch.set_num_threads(1)
x, sr = sf.read("speech.wav", dtype="float32")
w = torch.from_numpy(x)[None]
torchaudio.compliance.kaldi.fbank(w, num_mel_bins=80, sample_frequency=sr, dither=0.0)
best = 1e9
for _ in range(5):
    t = time.perf_counter()
    torchaudio.compliance.kaldi.fbank(w, num_mel_bins=80, sample_frequency=sr, dither=0.0)
    best = min(best, time.perf_counter() - t)
print("%.0f" % (len(x) / sr / best))
PY
)

if [ ! -s hour.mp4 ]; then
  ffmpeg -v error -y -stream_loop 59 -i "$clips/c1.mp4" -c copy hour.mp4
fi
mkdir -p hour && ln -sf ../hour.mp4 hour/hour.mp4
/usr/bin/time -v -o time.txt "$mer" extract audio -q hour -o hour.safetensors --force --jobs 1
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' time.txt)

# video: 8 one-minute 640x360 25 fps H.264 clips, sampled at 10 fps
if [ ! -d vclips ]; then
  mkdir -p vclips
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=640x360:rate=25" -t 60 -c:v libx264 -preset fast \
    -pix_fmt yuv420p vone.mp4
  for i in $(seq 1 8); do cp vone.mp4 "vclips/v$i.mp4"; done
  ffmpeg -v error -y -stream_loop 9 -i vone.mp4 -c copy vlong.mp4
fi
vframes=$((8 * 60 * 10))
t0=$(date +%s.%N)
for f in vclips/*.mp4; do ffmpeg -v error -threads 1 -i "$f" -vf fps=10,scale=64:64 -f null -; done
t1=$(date +%s.%N)
vffmpeg=$(/usr/bin/python3 -c "print('%.0f' % ($vframes / ($t1 - $t0)))")
vrate() { # vrate JOBS: frames/s of mer extract video --fps 10 (decode, sample, HOG, pool)
  local a b
  a=$(date +%s.%N)
  "$mer" extract video -q vclips -o vx.safetensors --force --fps 10 --jobs "$1"
  b=$(date +%s.%N)
  /usr/bin/python3 -c "print('%.0f' % ($vframes / ($b - $a)))"
}
v1=$(vrate 1)
v2=$(vrate 2)
mkdir -p vlong && ln -sf ../vlong.mp4 vlong/vlong.mp4
/usr/bin/time -v -o vtime.txt "$mer" extract video -q vlong -o vlong.safetensors --force --fps 10 --jobs 1
vrss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' vtime.txt)

echo "fbank (80 bins) alone on decoded audio, one core:  ${alone}x realtime"
echo "ffmpeg decode alone (AAC mp4, -threads 1):         ${ffmpeg_x}x realtime"
echo "mer decode + 16 kHz + fbank, --jobs 1:             ${fb1}x realtime"
echo "mer decode + 16 kHz + fbank, --jobs 2:             ${fb2}x realtime"
echo "torchaudio kaldi.fbank on decoded audio, 1 thread: ${ta}x realtime"
echo "mer eGeMAPS (decode included), --jobs 1:           ${eg1}x realtime"
echo "mer extract audio (fbank) on a one-hour clip: peak RSS $((rss / 1024)) MB"
echo "video 640x360 at 10 fps: ffmpeg decode + fps + scale (-threads 1): ${vffmpeg} frames/s"
echo "video 640x360 at 10 fps: mer decode + sample + HOG, --jobs 1:       ${v1} frames/s"
echo "video 640x360 at 10 fps: mer decode + sample + HOG, --jobs 2:       ${v2} frames/s"
echo "mer extract video on a ten-minute clip: peak RSS $((vrss / 1024)) MB"
/usr/bin/python3 -c "print('ratio mer fbank (decoded audio) / torchaudio: %.1fx' % ($alone / $ta))"
/usr/bin/python3 -c "print('ratio mer decode + fbank --jobs 2 / --jobs 1: %.2fx' % ($fb2 / $fb1))"
