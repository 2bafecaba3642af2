#!/usr/bin/python3
"""Generate data/sample/responses.jsonl: fake Gemini Batch API output for every sample clip.

Deterministic for a given --seed (python's random.Random). One line per sample of
data/sample/manifest.csv (train and test alike: the LLM sees every clip), in the Batch API's
output shape: {"key": name, "response": GenerateContentResponse}, or {"key": name, "error": {...}}.

The model's answer (candidates[0].content.parts[0].text) is the JSON that configs/prompts/*.txt
ask for: per modality visual/acoustic/textual a reasoning and scores over the 6 classes, an
overall reasoning, label and scores, and a per-modality contribution (percentages).

The class signal is real but noisy: each modality's trace describes the true class with a
modality-specific probability (visual 0.65, acoustic 0.55, textual 0.50), otherwise a confusable
class (sad/worried and angry/surprise most often); the scores put most mass on the class that the
trace describes; the overall label is right about 70% of the time, more often when the modalities
agree with the truth. Reasoning is in English or Chinese (exactly half the samples each).

Variety, as a real batch returns it (exact counts, shuffled):
  plain      ~70%  the JSON alone (compact or indented; 1 in 12 gives scores as 0-1 fractions)
  fenced     ~10%  ```json ... ``` (1 in 4 of them with a trailing comma before a closing brace)
  prose       ~8%  a sentence before and after the JSON
  zh-keys     ~4%  Chinese keys: 推理过程 reasoning, 情绪 label, 分数 scores, 贡献度 contribution,
                   视觉 visual, 声学 acoustic, 文本 textual (class names stay English)
  missing     ~3%  one modality (and its contribution) left out
  blocked     ~2%  promptFeedback.blockReason SAFETY and no candidates, or finishReason SAFETY
  malformed   ~2%  JSON text cut short (finishReason MAX_TOKENS, or STOP)
  error       ~1%  {"key": .., "error": {"code": 500, ...}}
Needs only the standard library.
"""
import argparse
import csv
import json
import os
import random

CLASSES = ["worried", "happy", "neutral", "angry", "surprise", "sad"]
MODALITIES = ["visual", "acoustic", "textual"]
P_TRUE = {"visual": 0.65, "acoustic": 0.55, "textual": 0.50}
# P(overall label right | number of modalities whose trace shows the true class)
P_OVERALL = [0.20, 0.50, 0.85, 0.95]
CONFUSE = {
    "worried": [("sad", 45), ("neutral", 30), ("surprise", 15), ("angry", 10)],
    "sad": [("worried", 50), ("neutral", 35), ("angry", 15)],
    "angry": [("surprise", 35), ("worried", 25), ("neutral", 25), ("sad", 15)],
    "surprise": [("angry", 35), ("happy", 35), ("worried", 20), ("neutral", 10)],
    "happy": [("neutral", 50), ("surprise", 40), ("sad", 10)],
    "neutral": [("worried", 30), ("sad", 25), ("happy", 25), ("angry", 20)],
}
VARIANTS = [  # (name, fraction); "plain" takes the rest
    ("fenced", 0.10), ("prose", 0.08), ("zh-keys", 0.04), ("missing", 0.03),
    ("blocked", 0.02), ("malformed", 0.02), ("error", 0.01),
]
ZH_KEYS = {"reasoning": "推理过程", "label": "情绪", "scores": "分数", "contribution": "贡献度",
           "visual": "视觉", "acoustic": "声学", "textual": "文本"}

CUES = {
    "en": {
        "visual": {
            "worried": ["a furrowed brow and tightly pressed lips", "eyes darting around, biting the lower lip",
                        "fidgeting hands and tense, raised shoulders", "a pinched, anxious expression"],
            "happy": ["a broad smile with crinkled eyes", "laughing with the head tilted back",
                      "a relaxed posture and a bright face", "cheeks raised in a genuine smile"],
            "neutral": ["a relaxed, expressionless face", "a steady gaze with no visible muscle tension",
                        "a still posture in an ordinary indoor scene", "the mouth at rest and level eyebrows"],
            "angry": ["a clenched jaw and glaring eyes", "lowered brows and flared nostrils",
                      "leaning forward and pointing a finger", "tight fists and a hard stare"],
            "surprise": ["raised eyebrows and wide-open eyes", "the mouth dropping open",
                         "a sudden backward jerk of the head", "eyes widening with both hands raised"],
            "sad": ["tears in the eyes and drooping mouth corners", "a downcast gaze and slumped shoulders",
                    "the head lowered and the face turned away", "red eyes and a trembling chin"],
        },
        "acoustic": {
            "worried": ["a hesitant, trembling voice with frequent pauses", "fast, breathy speech with rising pitch",
                        "a shaky voice and nervous sighs"],
            "happy": ["a bright, lively tone with laughter", "a high, bouncy pitch and quick tempo",
                      "warm, cheerful intonation"],
            "neutral": ["a flat tone at a steady pace", "even pitch and normal volume",
                        "a calm, matter-of-fact delivery"],
            "angry": ["a loud, sharp tone", "a harsh voice with words bitten off",
                      "raised volume and fast, forceful speech"],
            "surprise": ["a sudden high-pitched exclamation", "a gasp followed by rising intonation",
                         "an abrupt jump in pitch and volume"],
            "sad": ["a low, slow and quiet voice", "a choked voice close to sobbing",
                    "soft, falling intonation with long pauses"],
        },
        "textual": {
            "worried": ["the words express concern about what will happen next",
                        "the speaker asks anxiously whether things will be all right",
                        "the line mentions a fear of failing"],
            "happy": ["the words express delight and thanks", "the speaker shares good news",
                      "the line is a joke followed by a compliment"],
            "neutral": ["the words state a plain fact", "it is an ordinary question with no emotional content",
                        "the line is a routine instruction"],
            "angry": ["the words are an accusation", "the speaker blames and threatens the listener",
                      "the line contains insults and demands"],
            "surprise": ["the words express disbelief (\"really? how is that possible?\")",
                         "the speaker reacts to unexpected news", "the line is an exclamation about something unforeseen"],
            "sad": ["the words speak of loss and regret", "the speaker says they feel hopeless",
                    "the line mentions a farewell and missing someone"],
        },
    },
    "zh": {
        "visual": {
            "worried": ["眉头紧锁,嘴唇紧抿", "眼神游移,咬着下唇", "双手不停摆弄,肩膀紧绷", "表情局促不安"],
            "happy": ["开怀大笑,眼角带笑纹", "仰头大笑", "姿态放松,神情明朗", "面颊上扬,笑容真诚"],
            "neutral": ["面部放松,没有明显表情", "目光平稳,面部肌肉无紧张", "在普通室内场景中姿态平静", "嘴角自然,眉毛平直"],
            "angry": ["咬紧牙关,怒目而视", "眉毛下压,鼻翼张开", "身体前倾,用手指着对方", "紧握双拳,目光凶狠"],
            "surprise": ["眉毛上扬,双眼圆睁", "嘴巴张大", "头部突然向后一缩", "眼睛睁大,双手举起"],
            "sad": ["眼含泪水,嘴角下垂", "目光低垂,肩膀下沉", "低着头,把脸转开", "眼睛发红,下巴颤抖"],
        },
        "acoustic": {
            "worried": ["声音犹豫颤抖,停顿频繁", "语速快,气息急促,音调上扬", "声音发抖,不时紧张地叹气"],
            "happy": ["语调明快活泼,带着笑声", "音调高而跳跃,节奏轻快", "语气温暖愉快"],
            "neutral": ["语调平淡,语速平稳", "音高平稳,音量正常", "语气平静,就事论事"],
            "angry": ["声音响亮尖锐", "嗓音粗厉,字字咬牙", "音量提高,语速快而有力"],
            "surprise": ["突然发出高声惊呼", "先倒吸一口气,随后语调上扬", "音高和音量突然跃升"],
            "sad": ["声音低沉缓慢而轻", "声音哽咽,几近抽泣", "语调低落下降,停顿很长"],
        },
        "textual": {
            "worried": ["台词表达了对后果的担忧", "说话人焦虑地询问事情是否会好起来", "台词提到害怕失败"],
            "happy": ["台词表达了喜悦和感谢", "说话人在分享好消息", "台词是一句玩笑加一句称赞"],
            "neutral": ["台词只是在陈述一个事实", "这是一个普通的问题,没有情绪内容", "台词是一句日常的交代"],
            "angry": ["台词是在指责对方", "说话人在责怪并威胁对方", "台词中有辱骂和命令"],
            "surprise": ["台词表达了难以置信(“真的吗?怎么可能?”)", "说话人对意外消息作出反应", "台词是对意想不到之事的感叹"],
            "sad": ["台词谈到失去和遗憾", "说话人说自己感到绝望", "台词提到告别和思念某人"],
        },
    },
}
# How a trace reads: a lead-in per modality and language, then a clear or a hedged tail.
FRAME = {
    "en": {"visual": "The video shows {cue}", "acoustic": "The audio carries {cue}",
           "textual": "In the subtitle, {cue}"},
    "zh": {"visual": "画面中人物{cue}", "acoustic": "音频中{cue}", "textual": "从字幕看,{cue}"},
}
TAIL = {
    "en": {"clear": [", which points to {cls}.", ", a typical sign of {cls}.", "; this suggests {cls}."],
           "weak": ["; this weakly suggests {cls}, but the cue is ambiguous.",
                    "; perhaps {cls}, though the evidence is thin."]},
    "zh": {"clear": [",表明情绪为{cls}。", ",这是典型的{cls}表现。", ",说明人物处于{cls}状态。"],
           "weak": [",可能是{cls},但线索并不明确。", ",或许是{cls},但证据不足。"]},
}
# A distracting second cue (from a confusable class), as real traces often mention one.
BUT = {"en": ", although there is also {cue}", "zh": ",不过也有{cue}"}
ZH_CLASS = {"worried": "担忧", "happy": "快乐", "neutral": "中性", "angry": "生气", "surprise": "惊讶", "sad": "悲伤"}
OVERALL = {
    "en": "Combining the cues, the {agree} point to {cls}; the overall emotion is {cls}.",
    "zh": "综合各模态线索,{agree}指向{cls},整体情绪判断为{cls}。",
}
PROSE = {
    "en": ("Here is my analysis of the clip.\n\n", "\n\nNote: the judgement is based on a short clip and may be uncertain."),
    "zh": ("以下是我对该视频片段的分析:\n\n", "\n\n注:以上判断基于较短的片段,可能存在不确定性。"),
}


def pick(rng, weighted):
    total = sum(w for _, w in weighted)
    r = rng.uniform(0, total)
    for item, w in weighted:
        r -= w
        if r <= 0:
            return item
    return weighted[-1][0]


def percentages(rng, top_cls, top, second_cls):
    """Integer scores summing to 100: `top` on top_cls, a good share of the rest on second_cls."""
    rest = 100 - top
    second = min(int(rest * rng.uniform(0.35, 0.7)), top - 1)
    others = [c for c in CLASSES if c not in (top_cls, second_cls)]
    left = rest - second
    for _ in range(100):  # redraw until top_cls stays on top
        weights = [rng.random() + 0.05 for _ in others]
        shares = [int(left * w / sum(weights)) for w in weights]
        shares[0] += left - sum(shares)
        if max(shares) < top:
            break
    else:
        shares = [left // len(others)] * len(others)
        shares[0] += left - sum(shares)
    scores = dict(zip(others, shares))
    scores[top_cls] = top
    scores[second_cls] = second
    return {c: scores[c] for c in CLASSES}


def trace(rng, lang, modality, cls, weak):
    cues = CUES[lang][modality]
    name = ZH_CLASS[cls] if lang == "zh" else cls
    second = pick(rng, CONFUSE[cls])
    text = FRAME[lang][modality].format(cue=rng.choice(cues[cls]))
    if rng.random() < 0.25:
        text += BUT[lang].format(cue=rng.choice(cues[second]))
    text += rng.choice(TAIL[lang]["weak" if weak else "clear"]).format(cls=name)
    top = rng.randint(28, 40) if weak else rng.randint(45, 85)
    return {"reasoning": text, "scores": percentages(rng, cls, top, second)}


def answer_for(rng, truth, lang):
    shown = {}
    for m in MODALITIES:
        shown[m] = truth if rng.random() < P_TRUE[m] else pick(rng, CONFUSE[truth])
    right = sum(shown[m] == truth for m in MODALITIES)
    if rng.random() < P_OVERALL[right]:
        label = truth
    else:
        wrong = [shown[m] for m in MODALITIES if shown[m] != truth]
        label = rng.choice(wrong) if wrong else pick(rng, CONFUSE[truth])
    ans = {m: trace(rng, lang, m, shown[m], rng.random() < 0.15) for m in MODALITIES}
    agree = [m for m in MODALITIES if shown[m] == label]
    if lang == "zh":
        names = {"visual": "视觉", "acoustic": "声学", "textual": "文本"}
        agree_text = "、".join(names[m] for m in agree) or "多数线索"
        ans["reasoning"] = OVERALL["zh"].format(agree=agree_text, cls=ZH_CLASS[label])
    else:
        agree_text = " and ".join("%s cues" % m for m in agree) or "most cues"
        ans["reasoning"] = OVERALL["en"].format(agree=agree_text, cls=label)
    ans["label"] = label
    ans["scores"] = percentages(rng, label, rng.randint(40, 80), pick(rng, CONFUSE[label]))
    weights = {m: rng.uniform(1.5, 3.0) if shown[m] == label else rng.uniform(0.4, 1.2) for m in MODALITIES}
    contrib = {m: int(100 * w / sum(weights.values())) for m, w in weights.items()}
    contrib["visual"] += 100 - sum(contrib.values())
    ans["contribution"] = contrib
    return ans, shown


def fractions(ans):
    """Scores as 0-1 fractions, as some answers give them."""
    def conv(s):
        return {c: round(v / 100.0, 2) for c, v in s.items()}
    out = dict(ans)
    for m in MODALITIES:
        out[m] = {"reasoning": ans[m]["reasoning"], "scores": conv(ans[m]["scores"])}
    out["scores"] = conv(ans["scores"])
    return out


def zh_keys(obj):
    if isinstance(obj, dict):
        return {ZH_KEYS.get(k, k): zh_keys(v) for k, v in obj.items()}
    return obj


def dumps(obj, indent=None):
    return json.dumps(obj, ensure_ascii=False, indent=indent)


def usage(rng, out_tokens):
    prompt = rng.randint(1800, 9000)
    return {"promptTokenCount": prompt, "candidatesTokenCount": out_tokens, "totalTokenCount": prompt + out_tokens}


def candidate(text, finish):
    return {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": finish, "index": 0}


def response(rng, text, finish="STOP"):
    return {"candidates": [candidate(text, finish)], "usageMetadata": usage(rng, max(1, len(text) // 3)),
            "modelVersion": "gemini-2.5-flash"}


def make_line(rng, name, variant, ans, lang):
    if variant == "error":
        return {"key": name, "error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}
    if variant == "blocked":
        if rng.random() < 0.5:
            resp = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage(rng, 0),
                    "modelVersion": "gemini-2.5-flash"}
        else:
            resp = {"candidates": [{"finishReason": "SAFETY", "index": 0}], "usageMetadata": usage(rng, 0),
                    "modelVersion": "gemini-2.5-flash"}
        return {"key": name, "response": resp}
    if variant == "plain":
        text = dumps(fractions(ans) if rng.random() < 1 / 12 else ans, rng.choice([None, 2]))
    elif variant == "fenced":
        body = dumps(ans, 2)
        if rng.random() < 0.25:  # a trailing comma after the contribution's last member
            body = body[: body.rindex("}", 0, len(body) - 1)].rstrip() + ",\n  }\n}"
        text = "```json\n" + body + "\n```"
    elif variant == "prose":
        before, after = PROSE[lang]
        text = before + dumps(ans, 2) + after
    elif variant == "zh-keys":
        text = dumps(zh_keys(ans), 2)
    elif variant == "missing":
        drop = rng.choice(MODALITIES)
        ans = {k: v for k, v in ans.items() if k != drop}
        ans["contribution"] = {m: v for m, v in ans["contribution"].items() if m != drop}
        text = dumps(ans)
    elif variant == "malformed":
        full = dumps(ans, 2)
        text = full[: int(len(full) * rng.uniform(0.3, 0.85))]
        return {"key": name, "response": response(rng, text, rng.choice(["MAX_TOKENS", "STOP"]))}
    else:
        raise ValueError(variant)
    return {"key": name, "response": response(rng, text)}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default=os.path.join(here, "..", "data", "sample", "manifest.csv"))
    ap.add_argument("-o", "--out", default=os.path.join(here, "..", "data", "sample", "responses.jsonl"))
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    with open(args.manifest, newline="", encoding="utf-8") as f:
        rows = [(r["name"], r["label"]) for r in csv.DictReader(f)]
    n = len(rows)
    variants = []
    for v, frac in VARIANTS:
        variants += [v] * int(round(frac * n))
    variants += ["plain"] * (n - len(variants))
    rng.shuffle(variants)
    # Half the answers in Chinese, exactly: those with Chinese keys, and enough others.
    others = [i for i, v in enumerate(variants) if v != "zh-keys"]
    zh = set(rng.sample(others, n // 2 - (n - len(others)))) | set(range(n)) - set(others)

    counts = {}
    hits = {m: 0 for m in MODALITIES + ["label"]}
    langs = {"en": 0, "zh": 0}
    lines = []
    for i, ((name, truth), variant) in enumerate(zip(rows, variants)):
        if truth not in CLASSES:
            raise SystemExit("%s: sample %s: unknown class '%s'" % (args.manifest, name, truth))
        lang = "zh" if i in zh else "en"
        ans, shown = answer_for(rng, truth, lang)
        lines.append(dumps(make_line(rng, name, variant, ans, lang)))
        counts[variant] = counts.get(variant, 0) + 1
        langs[lang] += 1
        for m in MODALITIES:
            hits[m] += shown[m] == truth
        hits["label"] += ans["label"] == truth

    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, args.out)

    print("wrote %s: %d lines, %d bytes" % (args.out, n, os.path.getsize(args.out)))
    print("variants: " + ", ".join("%s %d" % (v, counts.get(v, 0)) for v in ["plain"] + [v for v, _ in VARIANTS]))
    print("languages: en %d, zh %d" % (langs["en"], langs["zh"]))
    print("trace shows the true class (before variants): " +
          ", ".join("%s %.3f" % (m, hits[m] / n) for m in MODALITIES + ["label"]))


if __name__ == "__main__":
    main()
