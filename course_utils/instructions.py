"""Instruction tuning: a chat template with special tokens, an instruction dataset built offline by rule
from the course's own data (each item says where it came from), and exact-match scoring.

    <|user|> Write Feb 15, 2019 as YYYY-MM-DD.<|end|><|assistant|> 2019-02-15<|end|>
    └──────────────────── prompt: no loss ────────────────────────┘└─ loss here ──┘

1. `ChatTemplate` wraps the base model's tokenizer and puts four special ids after its vocabulary
   (`add_chat_tokens` grows the model to match). No text can produce a special id, so a user cannot
   forge an assistant turn. Each message is encoded after one space, as a word inside a sentence was in
   pretraining: the " 2019" of an answer is then the same tokens as the " 2019" of its prompt. `encode`
   returns the ids and a mask that is True on the assistant's tokens (its words and its closing <|end|>);
   `training_example` turns that mask into ignored targets. `TextOnly` reads a chat model as a plain
   language model (chat tokens out of the softmax), to measure what fine-tuning cost it on ordinary text.
2. `instruction_splits()` builds train / validation / test instructions of a few task types, each from
   one course source, by rule, so every answer is exactly right and can be scored by exact match.
   The test items come from data the base model never saw in pretraining (`TASKS` says, per task, what
   it saw); validation items are disjoint from both.
3. `chat_answers` (a fine-tuned assistant) and `few_shot_answers` (the base model, shown k solved
   examples in plain text) answer many prompts greedily (`greedy_answers`: prompts of equal length
   together, with the KV cache); `exact_match_by_task` scores them.
"""
from __future__ import annotations

import datetime
import random
import re
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import torch
from torch import nn

from course_utils.validation import require_int, require_str

PAD, USER, ASSISTANT, END = "<|pad|>", "<|user|>", "<|assistant|>", "<|end|>"
SPECIALS = (PAD, USER, ASSISTANT, END)
ROLES = {"user": USER, "assistant": ASSISTANT}
IGNORE = -100                     # target id that cross-entropy skips
SEPARATOR = " "                   # between a role token and its content


# ---------------------------------------------------------------------------------------------------
# 1) the chat template
# ---------------------------------------------------------------------------------------------------
class ChatTemplate:
    """Messages [{"role": "user" | "assistant", "content": str}, …] ⇄ token ids with special tokens.

        <|user|> content<|end|><|assistant|> content<|end|> …      (one space after each role token)

    The four special ids come after the base tokenizer's vocabulary, in the order of SPECIALS, which is
    the order `finetune.add_special_tokens` appends rows to the model (`add_chat_tokens` does both)."""

    def __init__(self, base):
        if not all(hasattr(base, name) for name in ("encode", "decode", "vocab_size")):
            raise TypeError(f"base must be a tokenizer with encode, decode and vocab_size, got {type(base).__name__}")
        self.base = base
        self.special_ids = {name: base.vocab_size + i for i, name in enumerate(SPECIALS)}
        self.pad_id, self.user_id, self.assistant_id, self.end_id = (self.special_ids[s] for s in SPECIALS)
        self._role_of_id = {self.user_id: "user", self.assistant_id: "assistant"}

    @property
    def vocab_size(self) -> int:
        return self.base.vocab_size + len(SPECIALS)

    # text form, for reading ------------------------------------------------------------------------
    def render(self, messages: Sequence[dict]) -> str:
        """The conversation as text with the special tokens' names: what the model sees, readable."""
        return "".join(f"{ROLES[m['role']]}{SEPARATOR}{m['content']}{END}" for m in check_messages(messages))

    def parse(self, text: str) -> list[dict]:
        """Inverse of `render`: text with special-token names → messages."""
        require_str(text, "text")
        pattern = re.compile(rf"({re.escape(USER)}|{re.escape(ASSISTANT)}){SEPARATOR}(.*?){re.escape(END)}", re.S)
        messages, pos = [], 0
        for match in pattern.finditer(text):
            if match.start() != pos:
                raise ValueError(f"text must be a sequence of <|role|>content<|end|> turns; stray text at "
                                 f"{pos}: {text[pos : match.start()]!r:.40}")
            role = "user" if match.group(1) == USER else "assistant"
            messages.append({"role": role, "content": match.group(2)})
            pos = match.end()
        if pos != len(text):
            raise ValueError(f"text must end with {END}; unparsed from {pos}: {text[pos:]!r:.40}")
        return messages

    # ids, for the model ----------------------------------------------------------------------------
    def encode(self, messages: Sequence[dict]) -> tuple[list[int], list[bool]]:
        """(ids, assistant_mask): the conversation's ids, and True on every token the assistant writes —
        its content and its closing <|end|> — but not its <|assistant|> header (the prompt supplies it)."""
        ids, mask = [], []
        for m in check_messages(messages):
            content = self.base.encode(SEPARATOR + m["content"])
            turn = [self.special_ids[ROLES[m["role"]]], *content, self.end_id]
            ids += turn
            mask += [False] + [m["role"] == "assistant"] * (len(turn) - 1)
        return ids, mask

    def decode(self, ids: Iterable[int]) -> list[dict]:
        """Inverse of `encode` (ids → messages); a last turn without <|end|> is kept as it stands."""
        messages, role, run = [], None, []
        for i in (int(i) for i in ids):
            if i in self._role_of_id:
                if role is not None:
                    raise ValueError(f"turn {len(messages)} ({role}) has no {END} before the next role token")
                role, run = self._role_of_id[i], []
            elif i == self.end_id:
                if role is None:
                    raise ValueError(f"{END} outside a turn (after turn {len(messages)})")
                messages.append({"role": role, "content": self._text(run)})
                role = None
            elif i == self.pad_id:
                continue
            elif role is None:
                raise ValueError(f"token {i} outside a turn: every turn starts with {USER} or {ASSISTANT}")
            else:
                run.append(i)
        if role is not None:
            messages.append({"role": role, "content": self._text(run)})
        return messages

    def _text(self, ids: list[int]) -> str:
        """A turn's content: its ids decoded, without the separator the template put in front."""
        return self.base.decode(ids).removeprefix(SEPARATOR)

    def training_example(self, messages: Sequence[dict], block_size: int) -> tuple[list[int], list[int]]:
        """(inputs, targets) for next-token training: targets are IGNORE except where the next token is
        the assistant's, so the loss (and the gradient) comes from the assistant's tokens only."""
        block_size = require_int(block_size, "block_size", minimum=2)
        ids, mask = self.encode(messages)
        if len(ids) > block_size + 1:
            raise ValueError(f"the conversation has {len(ids)} tokens, more than block_size + 1 = {block_size + 1}")
        targets = [t if keep else IGNORE for t, keep in zip(ids[1:], mask[1:])]   # position t predicts ids[t + 1]
        return ids[:-1], targets

    def prompt_ids(self, user_text: str) -> list[int]:
        """What the model is given to answer one instruction: <|user|> text <|end|> <|assistant|>."""
        ids, _ = self.encode([{"role": "user", "content": require_str(user_text, "user_text")}])
        return ids + [self.assistant_id]


def check_messages(messages: Sequence[dict]) -> list[dict]:
    """Messages as a list of {"role", "content"} dicts with a known role and str content, else ValueError."""
    if isinstance(messages, (str, dict)) or not messages:
        raise ValueError(f"messages must be a non-empty list of {{'role', 'content'}} dicts, got {messages!r:.60}")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise ValueError(f"message {i} must be {{'role': one of {sorted(ROLES)}, 'content': str}}, got {m!r:.60}")
        if any(name in m["content"] for name in SPECIALS):
            raise ValueError(f"message {i} contains a special token's name; the template writes those itself")
    return list(messages)


def conversation(prompt: str, answer: str) -> list[dict]:
    """One instruction and its answer as chat messages."""
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def add_chat_tokens(model, tokenizer) -> ChatTemplate:
    """Grow `model`'s vocabulary by the four chat tokens (`finetune.add_special_tokens`, rows at the mean
    embedding) and return the template whose ids match them."""
    from course_utils.finetune import add_special_tokens

    template = ChatTemplate(tokenizer)
    if model.config.vocab_size != tokenizer.vocab_size:
        raise ValueError(f"model has vocab_size {model.config.vocab_size}, tokenizer {tokenizer.vocab_size}: add the "
                         f"chat tokens to a model that has none yet")
    ids = add_special_tokens(model, len(SPECIALS))
    assert ids == [template.special_ids[s] for s in SPECIALS]
    return template


class TextOnly(nn.Module):
    """A chat model read as a plain language model: logits over the base tokenizer's vocabulary only, the
    chat tokens left out of the softmax. Its nats per character of ordinary text then measure what the
    model still knows about text, not how much probability it now gives to ending a turn."""

    def __init__(self, model: nn.Module, template: ChatTemplate):
        super().__init__()
        self.model = model
        self.config = replace(model.config, vocab_size=template.base.vocab_size)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.model(idx)[..., : self.config.vocab_size]     # (B, T, V_base)


# ---------------------------------------------------------------------------------------------------
# 2) instructions built by rule from the course's data
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    task: str        # one of TASKS
    prompt: str      # the user's message
    answer: str      # the one correct answer (scored by exact match)
    source: str      # provenance: dataset, split and item the instruction was made from


@dataclass(frozen=True)
class Task:
    name: str
    example: str
    source: str
    base_model_saw: str   # what of this task's data the base model met in pretraining


TASKS = {t.name: t for t in (
    Task("date_iso", "Write Feb 15, 2019 as YYYY-MM-DD. → 2019-02-15",
         "course_utils.dates: days 1900–2099 written by babel's CLDR data (en_US, long or medium); test days "
         "are the 500 held-out days of split_dates(seed=0), validation days are drawn from the other days",
         "no dates: the pretraining corpus has no date data"),
    Task("add", "What is 23 + 45? → 68",
         "rule: a + b for 0 ≤ a, b ≤ max_operand; {a, b} pairs are split, so b + a is never in another split",
         "no sums as such; numbers in ordinary text only"),
    Task("larger", "Which is larger: 23 or 45? → 45",
         "rule: two different numbers 0 ≤ a, b ≤ max_operand; {a, b} pairs are split, so 'b or a' is never in "
         "another split",
         "no such questions; numbers in ordinary text only"),
    Task("reverse", "Reverse the words: Save All Files → Files All Save",
         "mt_en_fr English UI strings of 2–4 words (notebook 06); train from 06's train split, validation and "
         "test from 06's held-out split, minus any string in train",
         "the train strings; never the held-out ones"),
    Task("ui_fr", "Translate to French: Log Console → Console de log",
         "mt_en_fr (JupyterLab UI strings, notebook 06) of ≤ 3 English words; train from 06's train split, "
         "validation and test from 06's held-out split, minus any whose English or French is in train",
         "the train pairs (as 'English<TAB>French' lines); never the held-out pairs"),
    Task("doc_package", "Which library: Find a root of a function using Brent's method. → scipy",
         "docsum (numpy/scipy/pandas/sklearn docstring summaries, notebook 07); train from 07's train split, "
         "validation and test from 07's held-out split; the answer is the first part of the function's name",
         "the train summaries (without the library's name); never the held-out ones"),
    Task("speaker", "Who speaks: You need not fear, lady, the having any of these lords; → NERISSA",
         "data/shakespeare.txt speeches (a speaker line, then the speech's first line); train from the shared "
         "training part, validation and test from the held-out part (the end of The Merchant of Venice)",
         "the training part; never the held-out part"),
)}
DEFAULT_TASKS = ("date_iso", "larger", "doc_package")   # learnable in ≈ 300 steps; benchmarks/post_training.py


DATE_PROMPT_FORMATS = ("long", "medium")          # CLDR en_US: "October 7, 2038", "Oct 7, 2038"


def date_instructions(days: Sequence[datetime.date], split: str, rng: random.Random,
                      formats: Sequence[str] = DATE_PROMPT_FORMATS) -> list[Instruction]:
    """'Write <English date> as YYYY-MM-DD.' → ISO date, in a CLDR format drawn from `formats` by `rng`."""
    from course_utils.dates import SOURCE_LOCALE, format_date

    out = []
    for day in days:
        fmt = rng.choice(formats)
        out.append(Instruction("date_iso", f"Write {format_date(day, fmt, SOURCE_LOCALE)} as YYYY-MM-DD.",
                               day.isoformat(), f"dates {split}: {day.isoformat()} in CLDR {SOURCE_LOCALE} {fmt!r}"))
    return out


def addition_instructions(pairs: Sequence[tuple[int, int]], rng: random.Random) -> list[Instruction]:
    """'What is a + b?' → a + b, each unordered pair asked in a random order."""
    out = []
    for a, b in pairs:
        if rng.random() < 0.5:
            a, b = b, a
        out.append(Instruction("add", f"What is {a} + {b}?", str(a + b), f"rule: {a} + {b}"))
    return out


def comparison_instructions(pairs: Sequence[tuple[int, int]], rng: random.Random) -> list[Instruction]:
    """'Which is larger: a or b?' → the larger, each unordered pair asked in a random order."""
    out = []
    for a, b in pairs:
        if rng.random() < 0.5:
            a, b = b, a
        out.append(Instruction("larger", f"Which is larger: {a} or {b}?", str(max(a, b)), f"rule: max({a}, {b})"))
    return out


def _number_pairs(n_train: int, n_val: int, n_test: int, rng: random.Random, max_operand: int,
                  distinct: bool) -> dict[str, list[tuple[int, int]]]:
    """Unordered pairs {a, b} of 0 … max_operand shuffled and cut into test, validation, train."""
    pairs = [(a, b) for a in range(max_operand + 1) for b in range(a + distinct, max_operand + 1)]
    if n_val + n_test >= len(pairs):
        raise ValueError(f"max_operand={max_operand} gives {len(pairs)} pairs, too few for n_val + n_test = "
                         f"{n_val + n_test} held-out pairs and some to train on")
    rng.shuffle(pairs)
    return {"train": pairs[n_test + n_val :][:n_train], "val": pairs[n_test : n_test + n_val], "test": pairs[:n_test]}


def _date_splits(n_train: int, n_val: int, n_test: int, rng: random.Random) -> dict[str, list[Instruction]]:
    from course_utils.dates import split_dates

    train_days, test_days = split_dates(first_year=1900, last_year=2099, n_test=500, seed=0)
    chosen = rng.sample(train_days, n_train + n_val)
    return {"train": date_instructions(chosen[:n_train], "train", rng),
            "val": date_instructions(chosen[n_train:], "val", rng),
            "test": date_instructions(rng.sample(test_days, min(n_test, len(test_days))), "test (held-out days)", rng)}


def _addition_splits(n_train: int, n_val: int, n_test: int, rng: random.Random,
                     max_operand: int) -> dict[str, list[Instruction]]:
    cuts = _number_pairs(n_train, n_val, n_test, rng, max_operand, distinct=False)
    return {split: addition_instructions(chosen, rng) for split, chosen in cuts.items()}


def _comparison_splits(n_train: int, n_val: int, n_test: int, rng: random.Random,
                       max_operand: int) -> dict[str, list[Instruction]]:
    cuts = _number_pairs(n_train, n_val, n_test, rng, max_operand, distinct=True)
    return {split: comparison_instructions(chosen, rng) for split, chosen in cuts.items()}


def _reverse_splits(n_train: int, n_val: int, n_test: int, rng: random.Random,
                    min_words: int = 2, max_words: int = 4) -> dict[str, list[Instruction]]:
    from course_utils.pretrain_corpus import notebook_splits

    train, held = notebook_splits()["mt_en_fr"]
    def fits(rows):      # distinct English strings of min_words … max_words words
        return list(dict.fromkeys(en for en, _ in rows if min_words <= len(en.split()) <= max_words))

    def make(rows, split):
        return [Instruction("reverse", f"Reverse the words: {en}", " ".join(en.split()[::-1]),
                            f"mt_en_fr {split}: {en!r}") for en in rows]

    train = fits(train)
    seen = {en.lower() for en in train}
    held = [en for en in fits(held) if en.lower() not in seen]
    rng.shuffle(held)
    return {"train": make(rng.sample(train, min(n_train, len(train))), "train (notebook 06 train split)"),
            "val": make(held[:n_val], "held-out (notebook 06 validation + test)"),
            "test": make(held[n_val : n_val + n_test], "held-out (notebook 06 validation + test)")}


def _ui_splits(n_train: int, n_val: int, n_test: int, rng: random.Random,
               max_words: int = 3) -> dict[str, list[Instruction]]:
    from course_utils.pretrain_corpus import notebook_splits

    train, held = notebook_splits()["mt_en_fr"]
    short = lambda rows: [(en, fr) for en, fr in rows if len(en.split()) <= max_words]  # noqa: E731
    train = short(train)
    seen_en, seen_fr = {en.lower() for en, _ in train}, {fr for _, fr in train}
    held = [(en, fr) for en, fr in short(held) if en.lower() not in seen_en and fr not in seen_fr]
    held = list({en.lower(): (en, fr) for en, fr in held}.values())     # one answer per English string
    rng.shuffle(held)
    make = lambda rows, split: [Instruction("ui_fr", f"Translate to French: {en}", fr,  # noqa: E731
                                            f"mt_en_fr {split}: {en!r}") for en, fr in rows]
    return {"train": make(rng.sample(train, min(n_train, len(train))), "train (notebook 06 train split)"),
            "val": make(held[:n_val], "held-out (notebook 06 validation + test)"),
            "test": make(held[n_val : n_val + n_test], "held-out (notebook 06 validation + test)")}


def _package_splits(n_train: int, n_val: int, n_test: int, rng: random.Random) -> dict[str, list[Instruction]]:
    from course_utils.pretrain_corpus import notebook_splits

    train, held = notebook_splits()["docsum"]
    seen = {summary for _, summary, _ in train}
    held = [row for row in held if row[1] not in seen]
    held = list({summary: (name, summary, doc) for name, summary, doc in held}.values())
    rng.shuffle(held)
    make = lambda rows, split: [Instruction("doc_package", f"Which library: {summary}",  # noqa: E731
                                            name.split(".")[0], f"docsum {split}: {name}") for name, summary, _ in rows]
    return {"train": make(rng.sample(train, min(n_train, len(train))), "train (notebook 07 train split)"),
            "val": make(held[:n_val], "held-out (notebook 07 validation + test)"),
            "test": make(held[n_val : n_val + n_test], "held-out (notebook 07 validation + test)")}


SPEECH = re.compile(r"\n\n([A-Z][A-Z .']+)\.\n([^\n]+)")    # a blank line, "NAME.", the speech's first line


def _speaker_splits(n_train: int, n_val: int, n_test: int, rng: random.Random) -> dict[str, list[Instruction]]:
    from course_utils.pretrain_corpus import notebook_splits

    (train_text,), (held_text,) = notebook_splits()["shakespeare"]
    make = lambda rows, split: [Instruction("speaker", f"Who speaks: {line}", name,  # noqa: E731
                                            f"shakespeare {split}: {name}: {line[:30]!r}") for name, line in rows]
    train, held = SPEECH.findall(train_text), SPEECH.findall(held_text)
    rng.shuffle(held)
    return {"train": make(rng.sample(train, min(n_train, len(train))), "train part"),
            "val": make(held[:n_val], "held-out part"), "test": make(held[n_val : n_val + n_test], "held-out part")}


def instruction_splits(tasks: Sequence[str] = DEFAULT_TASKS, n_train: int = 400, n_val: int = 50,
                       n_test: int = 100, seed: int = 0, max_operand: int = 99) -> dict[str, list[Instruction]]:
    """{"train", "val", "test"} → instructions of each task in `tasks` (up to n_train / n_val / n_test per task:
    a source with fewer held-out items gives fewer), mixed in a seeded order. Same seed → same items."""
    unknown = [t for t in tasks if t not in TASKS]
    if isinstance(tasks, str) or unknown or not tasks:
        raise ValueError(f"tasks must be a non-empty list drawn from {sorted(TASKS)}, got {tasks!r}")
    n_train, n_val, n_test = (require_int(n, name, minimum=1) for n, name in
                              ((n_train, "n_train"), (n_val, "n_val"), (n_test, "n_test")))
    max_operand = require_int(max_operand, "max_operand", minimum=2)
    builders = {"date_iso": _date_splits, "ui_fr": _ui_splits, "doc_package": _package_splits,
                "speaker": _speaker_splits, "reverse": _reverse_splits,
                "larger": lambda *a: _comparison_splits(*a, max_operand=max_operand),
                "add": lambda *a: _addition_splits(*a, max_operand=max_operand)}
    splits = {"train": [], "val": [], "test": []}
    for i, task in enumerate(tasks):
        for split, items in builders[task](n_train, n_val, n_test, random.Random(f"{seed}-{task}")).items():
            splits[split] += items
    for split, items in splits.items():
        random.Random(f"{seed}-{split}").shuffle(items)
    return splits


def check_disjoint(splits: dict[str, list[Instruction]]) -> None:
    """ValueError if a prompt of one split appears in another (the held-out items must be unseen)."""
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = {x.prompt for x in splits[a]} & {x.prompt for x in splits[b]}
            if shared:
                raise ValueError(f"splits {a!r} and {b!r} share {len(shared)} prompts, e.g. {sorted(shared)[0]!r}")


# ---------------------------------------------------------------------------------------------------
# 3) answering and scoring
# ---------------------------------------------------------------------------------------------------
@torch.no_grad()
def greedy_answers(model, prompts: Sequence[Sequence[int]], stop_id: int, max_new_tokens: int = 16,
                   banned_ids: Sequence[int] = (), batch_size: int = 64) -> list[list[int]]:
    """Greedy continuations of many token-id prompts, each without its final `stop_id`: `finetune.greedy_batch`
    (prompts of one length together, with the KV cache) after keeping each prompt's last
    block_size − max_new_tokens tokens."""
    from course_utils.finetune import greedy_batch

    max_new_tokens = require_int(max_new_tokens, "max_new_tokens", minimum=1)
    budget = model.config.block_size - max_new_tokens
    if budget < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens} leaves no room for a prompt in block_size="
                         f"{model.config.block_size}")
    return greedy_batch(model, [list(p)[-budget:] for p in prompts], stop_id, max_new_tokens, batch_size, banned_ids)


def chat_answers(model, template: ChatTemplate, prompts: Sequence[str], max_new_tokens: int = 16,
                 batch_size: int = 64) -> list[str]:
    """The assistant's greedy answer to each prompt (prompt = <|user|> text<|end|><|assistant|>), until it
    writes <|end|>; it may not write a role or padding token."""
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings, got one str")
    ids = [template.prompt_ids(p) for p in prompts]
    out = greedy_answers(model, ids, template.end_id, max_new_tokens,
                         [template.pad_id, template.user_id, template.assistant_id], batch_size)
    return [template.base.decode(o).strip() for o in out]


# Plain-text layouts for prompting the base model (it has no chat tokens): "tab" is how it saw the UI-string
# pairs ("English<TAB>French" lines), "lines" how it saw docstring summaries above their text.
FEW_SHOT_FORMATS = {"qa": "Q: {prompt}\nA: {answer}\n\n",
                    "question_answer": "Question: {prompt}\nAnswer: {answer}\n\n",
                    "lines": "{prompt}\n{answer}\n\n",
                    "tab": "{prompt}\t{answer}\n"}


def few_shot_prompt(demos: Sequence[Instruction], prompt: str, layout: str = "qa") -> str:
    """k solved examples in plain text, then the question: the base model continues after it."""
    if layout not in FEW_SHOT_FORMATS:
        raise ValueError(f"layout must be one of {sorted(FEW_SHOT_FORMATS)}, got {layout!r}")
    fmt = FEW_SHOT_FORMATS[layout]
    shots = "".join(fmt.format(prompt=d.prompt, answer=d.answer) for d in demos)
    query = fmt.split("{answer}")[0].format(prompt=prompt)
    return shots + query.rstrip(" ")           # "…A:": the model writes the answer's leading space, " 2019-…"


def few_shot_answers(model, tokenizer, demos: Sequence[Instruction], prompts: Sequence[str],
                     max_new_tokens: int = 16, batch_size: int = 64, layout: str = "qa") -> list[str]:
    """The base model's greedy continuation of each few-shot prompt, cut at its first newline. A prompt
    too long for the model's block keeps as many of the demos as fit (the last ones)."""
    newline = tokenizer.encode("\n")
    if len(newline) != 1:
        raise ValueError(f"expected the tokenizer to write '\\n' as one token, got {newline}")
    budget = model.config.block_size - max_new_tokens
    ids = []
    for p in prompts:
        for k in range(len(demos), -1, -1):
            prompt = tokenizer.encode(few_shot_prompt(demos[len(demos) - k :], p, layout))
            if len(prompt) <= budget:
                break
        ids.append(prompt)
    out = greedy_answers(model, ids, newline[0], max_new_tokens, batch_size=batch_size)
    return [tokenizer.decode(o).split("\n")[0].strip() for o in out]


def exact_match(predictions: Sequence[str], answers: Sequence[str]) -> float:
    """Share of predictions equal to their answer after stripping surrounding whitespace (0–1)."""
    if isinstance(predictions, str) or isinstance(answers, str):
        raise TypeError("predictions and answers must be lists of strings, not one str")
    if len(predictions) != len(answers) or not answers:
        raise ValueError(f"need as many predictions as answers (> 0), got {len(predictions)} and {len(answers)}")
    return sum(p.strip() == a.strip() for p, a in zip(predictions, answers)) / len(answers)


def exact_match_by_task(items: Sequence[Instruction], predictions: Sequence[str]) -> dict[str, float]:
    """Exact match per task and over all items ("all"): {task: share, …, "all": share}."""
    if len(items) != len(predictions):
        raise ValueError(f"need one prediction per item, got {len(predictions)} for {len(items)} items")
    scores = {}
    for task in dict.fromkeys(x.task for x in items):
        pairs = [(p, x.answer) for x, p in zip(items, predictions) if x.task == task]
        scores[task] = exact_match([p for p, _ in pairs], [a for _, a in pairs])
    scores["all"] = exact_match(list(predictions), [x.answer for x in items])
    return scores
