"""Dialogue systems (notebook 09): data for a decoder-only chat model, a customer-service bot, a chat loop.

A chat model is a plain language model over a conversation written out with speaker and turn tokens:

    <user> My printer is not printing. <end> <bot> Ensure it's powered on … <end> <user> …
    └──────────── context (no loss) ────────────┘└─ response: the model learns these tokens ─┘

To answer, we feed the history plus `<bot>` and let the model continue until it writes `<end>`. Only
the most recent turns that fit in the model's block are kept: a multi-turn *context window*.

Customer service (the article's example, 客服机器人): `detect_intent` maps a request to one of the ten
tech-support problems of the chatterbot data with keyword rules; `SupportBot` answers known intents,
falls back to another responder (e.g. retrieval) when it is confident, and hands off to a human otherwise.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from typing import Callable, Iterable, Protocol, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.batching import epoch_batcher, pad_batch
from course_utils.env import model_device
from course_utils.generation import generate
from course_utils.retrieval import simple_tokenize
from course_utils.validation import require_int

PAD, USER, BOT, END = "<pad>", "<user>", "<bot>", "<end>"
CHAT_SPECIALS = (PAD, USER, BOT, END)
IGNORE = -100  # target id that cross-entropy skips (context and padding positions)
INTERACTIVE_ENV_VAR = "COURSE_INTERACTIVE"


# ---------------------------------------------------------------------------------------------------
# 1) conversations → (context, response) pairs
# ---------------------------------------------------------------------------------------------------
def unique_conversations(conversations: Iterable[dict], lang: str = "en") -> list[dict]:
    """Conversations of one language with exact duplicates removed (first copy kept, order kept).

    The chatterbot data repeats some conversations many times (each tech-support one ~100×); without
    this, copies of a test conversation would sit in the training set and inflate every score."""
    seen, out = set(), []
    for conv in conversations:
        key = tuple(conv["turns"])
        if conv.get("lang") == lang and key not in seen:
            seen.add(key)
            out.append(conv)
    return out


def dialogue_pairs(conversations: Iterable[dict]) -> list[tuple[list[str], str, str]]:
    """Every turn i ≥ 1 as the answer to the turns before it: (context turns, response, category)."""
    pairs = []
    for conv in conversations:
        turns = conv["turns"]
        if len(turns) < 2 or not all(isinstance(t, str) for t in turns):
            raise ValueError(f"each conversation needs ≥ 2 str turns, got {turns!r:.80}")
        pairs += [(list(turns[:i]), turns[i], conv.get("category", "")) for i in range(1, len(turns))]
    return pairs


def format_dialogue(turns: Sequence[str], last_speaker: str = BOT) -> str:
    """Readable form of what the model sees: speakers alternate so that the last turn is `last_speaker`'s."""
    speakers = _speakers(len(turns), last_speaker)
    return " ".join(f"{s} {t} {END}" for s, t in zip(speakers, turns))


def _speakers(n: int, last_speaker: str) -> list[str]:
    if last_speaker not in (USER, BOT):
        raise ValueError(f"last_speaker must be {USER!r} or {BOT!r}, got {last_speaker!r}")
    other = USER if last_speaker == BOT else BOT
    return [last_speaker if (n - 1 - i) % 2 == 0 else other for i in range(n)]


# ---------------------------------------------------------------------------------------------------
# 2) tokens: a base tokenizer plus four special ids
# ---------------------------------------------------------------------------------------------------
class TextTokenizer(Protocol):
    vocab_size: int

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...


class ChatTokenizer:
    """Wraps a text tokenizer (BPE or characters) and appends <pad> <user> <bot> <end> after its ids,
    so no text can ever produce a speaker token by accident."""

    def __init__(self, base: TextTokenizer):
        if not all(hasattr(base, name) for name in ("encode", "decode", "vocab_size")):
            raise TypeError(f"base must have encode, decode and vocab_size, got {type(base).__name__}")
        self.base = base
        self.special_ids = {name: base.vocab_size + i for i, name in enumerate(CHAT_SPECIALS)}
        self.pad_id, self.user_id, self.bot_id, self.end_id = (self.special_ids[s] for s in CHAT_SPECIALS)

    @property
    def vocab_size(self) -> int:
        return self.base.vocab_size + len(CHAT_SPECIALS)

    def encode(self, text: str) -> list[int]:
        return self.base.encode(text)

    def decode(self, ids: Iterable[int], show_specials: bool = False) -> str:
        """Ids → text; special ids become their names (show_specials) or are dropped."""
        names = {i: s for s, i in self.special_ids.items()}
        out, run = [], []
        for i in (int(i) for i in ids):
            if i in names:
                out.append(self.base.decode(run))
                run = []
                if show_specials:
                    out.append(f" {names[i]} ")
            else:
                run.append(i)
        out.append(self.base.decode(run))
        return re.sub(r" {2,}", " ", "".join(out)).strip()

    def turn(self, text: str, speaker: str) -> list[int]:
        """One turn: [speaker] text [<end>]."""
        return [self.special_ids[speaker], *self.encode(text), self.end_id]

    def turns(self, texts: Sequence[str], last_speaker: str = BOT) -> list[list[int]]:
        """Each turn's ids, speakers alternating so that the last one is `last_speaker`'s."""
        return [self.turn(t, s) for t, s in zip(texts, _speakers(len(texts), last_speaker))]


def context_window(turn_ids: Sequence[Sequence[int]], budget: int) -> list[int]:
    """The most recent whole turns whose total length fits in `budget` tokens, concatenated.

    If even the last turn alone is longer than the budget, its last `budget` tokens are kept."""
    budget = require_int(budget, "budget", minimum=0)
    kept: list[list[int]] = []
    used = 0
    for ids in reversed(turn_ids):
        if used + len(ids) > budget:
            break
        kept.append(list(ids))
        used += len(ids)
    if not kept and turn_ids and budget:
        return list(turn_ids[-1])[-budget:]
    return [i for ids in reversed(kept) for i in ids]


def build_example(tokenizer: ChatTokenizer, context: Sequence[str], response: str, block_size: int,
                  max_response: int | None = None) -> tuple[list[int], list[int]]:
    """One training sequence: (inputs, targets), each ≤ block_size long.

    sequence = context window + [<bot>] response [<end>];  inputs = sequence[:-1], targets = sequence[1:]
    with targets = -100 (ignored) wherever the next token is context — the model is trained to write
    the bot's reply (and to stop with <end>), not to imitate the user. A response longer than
    `max_response` tokens (default block_size // 2) is cut, and then has no <end>.
    """
    block_size = require_int(block_size, "block_size", minimum=4)
    max_response = max_response or block_size // 2
    reply = [tokenizer.bot_id, *tokenizer.encode(response), tokenizer.end_id][: max_response + 1]
    history = context_window(tokenizer.turns(list(context), last_speaker=USER), block_size + 1 - len(reply))
    sequence = history + reply
    targets = [IGNORE] * len(history) + reply[1:]   # position t predicts sequence[t + 1]
    return sequence[:-1], targets


def pad_examples(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad (inputs, targets) pairs to one (B, T) tensor each; padded targets are -100 (ignored).
    Right padding is safe for a causal model: no real position ever attends to a later pad."""
    if not examples:
        raise ValueError("examples must not be empty")
    bad = [i for i, (inp, tgt) in enumerate(examples) if len(inp) != len(tgt)]
    if bad:
        raise ValueError(f"each example's inputs and targets must have the same length; example {bad[0]} has "
                         f"{len(examples[bad[0]][0])} inputs and {len(examples[bad[0]][1])} targets")
    x = pad_batch([inp for inp, _ in examples], pad_id)                      # (B, T)
    y = pad_batch([tgt for _, tgt in examples], IGNORE)                      # (B, T)
    return x, y


def chat_batcher(examples: Sequence[tuple[list[int], list[int]]], batch_size: int, pad_id: int, seed: int = 0):
    """`get_batch(split)` for `train_model`: shuffled epochs of padded (inputs, targets) batches."""
    return epoch_batcher(len(examples), batch_size, lambda idx: pad_examples([examples[i] for i in idx.tolist()],
                                                                              pad_id), seed)


# ---------------------------------------------------------------------------------------------------
# 3) using a trained chat model: score responses, generate a reply
# ---------------------------------------------------------------------------------------------------
@torch.no_grad()
def token_nll(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Summed −ln p(target) over the non-ignored targets of each row: (B,) nats (eval mode).
    Dividing by the number of targets per row gives the per-token cross-entropy of each response."""
    was_training = model.training
    model.eval()
    device = model_device(model)                                               # inputs follow a moved model
    out = []
    for i in range(0, len(x), batch_size):
        logits = model(x[i : i + batch_size].to(device))                       # (b, T, V)
        yb = y[i : i + batch_size].to(device)
        nll = F.cross_entropy(logits.transpose(1, 2), yb, ignore_index=IGNORE, reduction="none")  # (b, T)
        out.append(nll.sum(1))
    model.train(was_training)
    return torch.cat(out).to(x.device)                                         # back on the caller's device


def score_candidates(model: nn.Module, tokenizer: ChatTokenizer, context: Sequence[str], candidates: Sequence[str],
                     block_size: int) -> torch.Tensor:
    """Mean log p(candidate tokens | context) per token for each candidate response: (C,), higher = better."""
    examples = [build_example(tokenizer, context, c, block_size) for c in candidates]
    x, y = pad_examples(examples, tokenizer.pad_id)
    n_tokens = (y != IGNORE).sum(1).clamp_min(1)
    return -token_nll(model, x, y) / n_tokens


def generate_reply(model: nn.Module, tokenizer: ChatTokenizer, history: Sequence[str], block_size: int,
                   max_new_tokens: int = 60, strategy: str = "greedy", temperature: float = 1.0,
                   top_k: int | None = None, top_p: float | None = None,
                   generator: torch.Generator | None = None) -> str:
    """The model's answer to the last user turn of `history`: prompt = context window + <bot>, then
    `course_utils.generation.generate` one token at a time until <end> or max_new_tokens, with the
    speaker tokens banned (the model may not switch speaker or write padding)."""
    if isinstance(history, str) or not history:
        raise ValueError("history must be a non-empty list of turns (str), the last one the user's")
    prompt = context_window(tokenizer.turns(list(history), last_speaker=USER), block_size - 1) + [tokenizer.bot_id]
    prompt_ids = torch.tensor([prompt], device=model_device(model))                   # (1, T), on the model's device
    out = generate(model, prompt_ids, max_new_tokens, strategy=strategy,               # (1, T + n_new)
                   temperature=temperature, top_k=top_k, top_p=top_p, generator=generator,
                   banned_ids=[tokenizer.pad_id, tokenizer.user_id, tokenizer.bot_id], stop_id=tokenizer.end_id)
    reply = out[0, len(prompt):].tolist()
    if reply and reply[-1] == tokenizer.end_id:
        reply.pop()
    return tokenizer.decode(reply)


def token_f1(hypothesis: str, reference: str, tokenize: Callable[[str], list[str]] | None = None) -> float:
    """Word-overlap F1 of a reply with the reference reply (SQuAD-style, bag of words): 2PR / (P + R)."""
    tokenize = tokenize or simple_tokenize
    hyp, ref = Counter(tokenize(hypothesis)), Counter(tokenize(reference))
    common = sum((hyp & ref).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(hyp.values()), common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------------
# 4) customer service: intent rules, a bot that answers, falls back, or hands off
# ---------------------------------------------------------------------------------------------------
# The ten problems of chatterbot's tech_support conversations, each recognised by a keyword rule.
# Order matters: the first rule that matches wins (e.g. "laptop screen is black" before "laptop").
TECH_SUPPORT_INTENTS: dict[str, str] = {
    "black_screen": r"\b(black|blank|dark)\b.*\b(screen|display|monitor)\b|\b(screen|display|monitor)\b.*\b(black|blank|dark)\b",
    "flickering": r"\bflicker\w*|\bflash\w*",
    "printer": r"\bprint\w*",
    "webcam": r"\b(web ?cam\w*|camera)\b",
    "mouse": r"\b(mouse|cursor|touchpad|trackpad)\b",
    "sound": r"\b(sound|audio|hear|speakers?|volume|headphones?)\b",
    "internet": r"\b(internet|wi-?fi|network|online|router|connection)\b",
    "password": r"\b(password|passcode|log ?in|sign ?in|locked out)\b",
    "overheating": r"\b(overheat\w*|too hot|hot|fans?)\b",
    "power": r"\b(turn(s|ing)? on|boot\w*|power\w*|start(s|ing)? up|dead)\b",
}
HANDOFF_REPLY = "I'm not sure I can help with that — let me connect you with a human agent."

# Requests written for this course (not from the data) to test the intent rules on new wording:
# (request, intent) with None = out of scope, which a good support bot hands to a human.
SUPPORT_TEST_REQUESTS: tuple[tuple[str, str | None], ...] = (
    ("The printer won't print anything.", "printer"),
    ("Nothing comes out of my printer when I send a document", "printer"),
    ("my pc does not power up at all", "power"),
    ("The laptop is dead and won't boot", "power"),
    ("mouse pointer is frozen", "mouse"),
    ("The cursor doesn't move when I use the touchpad", "mouse"),
    ("My display is completely black", "black_screen"),
    ("laptop shows a blank screen after login", "black_screen"),
    ("No audio from my speakers", "sound"),
    ("I can't hear anything in my headphones", "sound"),
    ("wifi keeps dropping", "internet"),
    ("I have no internet connection", "internet"),
    ("The camera is not recognised in Zoom", "webcam"),
    ("My webcam shows nothing", "webcam"),
    ("I can't remember my login password", "password"),
    ("locked out of my account", "password"),
    ("the computer gets really hot", "overheating"),
    ("The fan is loud and the laptop is overheating", "overheating"),
    ("my monitor keeps flickering", "flickering"),
    ("the screen flashes on and off", "flickering"),
    # harder wording: no keyword a rule looks for, or a keyword used in another sense
    ("Nothing happens when I press the on button", "power"),
    ("my pointer jumps all over the place", "mouse"),
    ("Websites won't load", "internet"),
    ("People on the video call can't see me", "webcam"),
    ("the pages come out empty", "printer"),
    ("Nothing shows up on the monitor", "black_screen"),
    ("Can I get a refund for this hot mess?", None),
    ("Do you sell printers?", None),
    ("What is your refund policy?", None),
    ("Can I change my delivery address?", None),
    ("Tell me a joke", None),
    ("How much does the premium plan cost?", None),
)


def detect_intent(text: str, rules: dict[str, str] | None = None) -> str | None:
    """The first intent whose regular expression matches the lower-cased text, or None."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    rules = TECH_SUPPORT_INTENTS if rules is None else rules
    lowered = text.lower()
    return next((intent for intent, pattern in rules.items() if re.search(pattern, lowered)), None)


def intent_answers(pairs: Iterable[tuple[Sequence[str], str, str]], rules: dict[str, str] | None = None) -> dict[str, str]:
    """The answer for each intent, read from the data: the response to the first prompt the rule matches."""
    answers: dict[str, str] = {}
    for context, response, _ in pairs:
        intent = detect_intent(context[-1], rules)
        if intent is not None and intent not in answers:
            answers[intent] = response
    return answers


class SupportBot:
    """A customer-service bot in three tiers:

    1. a known intent (keyword rules) → the data's answer for it;
    2. otherwise `fallback(text)` → (reply, confidence), used when confidence ≥ min_confidence;
    3. otherwise hand off to a human (HANDOFF_REPLY) — better than a confident wrong answer.
    """

    def __init__(self, answers: dict[str, str], fallback: Callable[[str], tuple[str, float]] | None = None,
                 min_confidence: float = 0.5, rules: dict[str, str] | None = None):
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        self.answers, self.fallback, self.min_confidence = dict(answers), fallback, min_confidence
        self.rules = TECH_SUPPORT_INTENTS if rules is None else rules

    def respond_with_reason(self, text: str) -> tuple[str, str]:
        """(reply, how it was chosen): how is 'intent:<name>', 'fallback' or 'handoff'."""
        intent = detect_intent(text, self.rules)
        if intent in self.answers:
            return self.answers[intent], f"intent:{intent}"
        if self.fallback is not None:
            reply, confidence = self.fallback(text)
            if confidence >= self.min_confidence:
                return reply, "fallback"
        return HANDOFF_REPLY, "handoff"

    def respond(self, text: str) -> str:
        return self.respond_with_reason(text)[0]


# ---------------------------------------------------------------------------------------------------
# 5) a chat loop that never blocks a notebook run
# ---------------------------------------------------------------------------------------------------
def chat_loop(respond: Callable[[str], str], *, inputs: Sequence[str] | None = None, interactive: bool | None = None,
              max_turns: int = 20, input_fn: Callable[[str], str] = input, print_fn: Callable[[str], None] = print,
              quit_words: Sequence[str] = ("quit", "bye", "exit")) -> list[tuple[str, str]]:
    """Talk to `respond` and return the transcript [(you, bot), …].

    * `inputs=[...]`: a scripted conversation, printed — deterministic, fine in tests and nbval.
    * interactive: reads from `input_fn` until an empty line, a quit word or max_turns. Only when
      interactive=True, or interactive=None and the environment variable COURSE_INTERACTIVE=1;
      otherwise it prints how to start one and returns [] at once, so an automated run never waits.
    """
    transcript: list[tuple[str, str]] = []
    if inputs is not None:
        if isinstance(inputs, str):
            raise TypeError("inputs must be a list of str, got one str; wrap it: [text]")
        for text in inputs:
            reply = respond(text)
            print_fn(f"you: {text}\nbot: {reply}")
            transcript.append((text, reply))
        return transcript
    if interactive is None:
        interactive = os.environ.get(INTERACTIVE_ENV_VAR) == "1"
    if not interactive:
        print_fn(f"(interactive chat skipped: call chat_loop(respond, interactive=True) or set "
                 f"{INTERACTIVE_ENV_VAR}=1 to talk to the bot; type 'quit' to stop)")
        return transcript
    for _ in range(max_turns):
        text = input_fn("you: ").strip()
        if not text or text.lower() in quit_words:
            break
        reply = respond(text)
        print_fn(f"bot: {reply}")
        transcript.append((text, reply))
    return transcript
