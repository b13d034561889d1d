"""Dialogue helpers: pairs and dedup, speaker tokens, the context window, loss masks, reply generation,
intent rules, the support bot's tiers, and a chat loop that never blocks."""
import pytest
import torch

from course_utils.dialogue import (BOT, END, HANDOFF_REPLY, IGNORE, SUPPORT_TEST_REQUESTS, TECH_SUPPORT_INTENTS,
                                   USER, ChatTokenizer, SupportBot, build_example, chat_batcher, chat_loop,
                                   context_window, detect_intent, dialogue_pairs, format_dialogue,
                                   generate_reply, intent_answers, pad_examples, score_candidates, token_f1,
                                   token_nll, unique_conversations)
from course_utils.tokenizers import CharTokenizer
from course_utils.transformer import GPT, GPTConfig

CONVS = [{"lang": "en", "category": "greetings", "turns": ["hi", "hello", "how are you?", "fine"]},
         {"lang": "en", "category": "greetings", "turns": ["hi", "hello", "how are you?", "fine"]},
         {"lang": "zh", "category": "greetings", "turns": ["你好", "你好"]},
         {"lang": "en", "category": "tech_support", "turns": ["My printer is not printing.", "Add paper."]}]


@pytest.fixture
def tok():
    return ChatTokenizer(CharTokenizer.from_text("abcdefghijklmnopqrstuvwxyz ?.'ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def test_unique_conversations_and_pairs():
    convs = unique_conversations(CONVS)
    assert len(convs) == 2                                            # duplicate and Chinese one dropped
    pairs = dialogue_pairs(convs)
    assert pairs[0] == (["hi"], "hello", "greetings")
    assert pairs[2] == (["hi", "hello", "how are you?"], "fine", "greetings")
    assert len(pairs) == 4
    with pytest.raises(ValueError, match="≥ 2 str turns"):
        dialogue_pairs([{"turns": ["alone"]}])


def test_format_alternates_speakers_ending_with_the_bot():
    assert format_dialogue(["hi", "hello"]) == f"{USER} hi {END} {BOT} hello {END}"
    assert format_dialogue(["a", "b", "c"]).startswith(f"{BOT} a")
    with pytest.raises(ValueError, match="last_speaker must be"):
        format_dialogue(["a"], last_speaker="<system>")


def test_chat_tokenizer_appends_special_ids(tok):
    base = tok.base.vocab_size
    assert (tok.pad_id, tok.user_id, tok.bot_id, tok.end_id) == (base, base + 1, base + 2, base + 3)
    assert tok.vocab_size == base + 4
    ids = tok.turn("hi", USER)
    assert ids[0] == tok.user_id and ids[-1] == tok.end_id and tok.decode(ids) == "hi"
    assert tok.decode(ids, show_specials=True) == "<user> hi <end>"
    with pytest.raises(TypeError, match="encode, decode and vocab_size"):
        ChatTokenizer(object())


def test_context_window_keeps_the_latest_whole_turns():
    turns = [[1, 1, 1], [2, 2], [3, 3, 3, 3]]
    assert context_window(turns, 100) == [1, 1, 1, 2, 2, 3, 3, 3, 3]
    assert context_window(turns, 6) == [2, 2, 3, 3, 3, 3]             # turn 1 would not fit whole
    assert context_window(turns, 3) == [3, 3, 3]                      # even the last is too long: its tail
    assert context_window(turns, 0) == [] and context_window([], 5) == []
    with pytest.raises(ValueError, match="budget must be an int ≥ 0"):
        context_window(turns, -1)


def test_build_example_masks_the_context(tok):
    x, y = build_example(tok, ["hi"], "hello", block_size=32)
    assert len(x) == len(y) <= 32
    seq = x + [y[-1]]
    assert seq[0] == tok.user_id and tok.decode(seq, show_specials=True) == "<user> hi <end> <bot> hello <end>"
    bot_at = seq.index(tok.bot_id)
    assert all(t == IGNORE for t in y[:bot_at])                       # no loss on the user's turn
    assert y[bot_at:] == seq[bot_at + 1:]                              # loss on the reply and its <end>


def test_build_example_respects_the_block(tok):
    x, y = build_example(tok, ["a" * 50, "b" * 10, "c" * 10], "d" * 40, block_size=24)
    assert len(x) <= 24
    seq = x + [y[-1]]
    assert tok.decode(seq).startswith("c")                             # the oldest turns fell out
    assert sum(t != IGNORE for t in y) == 12                           # the reply was cut to block_size // 2
    with pytest.raises(ValueError, match="block_size must be an int ≥ 4"):
        build_example(tok, ["hi"], "yo", block_size=2)


def test_padding_and_batches(tok):
    examples = [build_example(tok, ["hi"], r, 32) for r in ("a", "bb", "ccc")]
    x, y = pad_examples(examples, tok.pad_id)
    assert x.shape == y.shape == (3, max(len(e[0]) for e in examples))
    assert x[0, -1] == tok.pad_id and y[0, -1] == IGNORE
    xb, yb = chat_batcher(examples, 2, tok.pad_id, seed=0)("train")
    assert xb.shape[0] == 2
    with pytest.raises(ValueError, match="batch_size must be an int in"):
        chat_batcher(examples, 4, tok.pad_id)


def _tiny_model(tok):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, d_model=16, n_heads=2, n_layers=1))


def test_token_nll_and_scores_agree(tok):
    model = _tiny_model(tok)
    examples = [build_example(tok, ["hi"], r, 32) for r in ("yes", "no")]
    x, y = pad_examples(examples, tok.pad_id)
    nll = token_nll(model, x, y)
    logp = model(x).log_softmax(-1)
    mask = y != IGNORE
    by_hand = -(logp.gather(-1, y.clamp_min(0)[..., None])[..., 0] * mask).sum(1)
    assert torch.allclose(nll, by_hand, atol=1e-5)
    scores = score_candidates(model, tok, ["hi"], ["yes", "no"], 32)
    assert torch.allclose(scores, -nll / mask.sum(1), atol=1e-5)


class ScriptedModel(torch.nn.Module):
    """Prefers <user> most (which generate_reply must forbid), then 'a' for three tokens, then <end>."""

    def __init__(self, tok, prompt_len):
        super().__init__()
        self.tok, self.prompt_len, self.dummy = tok, prompt_len, torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        logits = torch.zeros(idx.size(0), idx.size(1), self.tok.vocab_size)
        logits[..., self.tok.user_id] = 10.0
        generated = idx.size(1) - self.prompt_len
        logits[..., self.tok.encode("a")[0] if generated < 3 else self.tok.end_id] = 5.0
        return logits


def test_generate_reply_stops_at_end_and_never_switches_speaker(tok):
    prompt_len = len(context_window(tok.turns(["hi"], last_speaker=USER), 31)) + 1
    model = ScriptedModel(tok, prompt_len)
    assert generate_reply(model, tok, ["hi"], block_size=32, max_new_tokens=10) == "aaa"
    assert generate_reply(model, tok, ["hi"], block_size=32, max_new_tokens=2) == "aa"
    with pytest.raises(ValueError, match="non-empty list"):
        generate_reply(model, tok, "hi", block_size=32)


def _reference_reply(model, tok, history, block_size, max_new_tokens, strategy, temperature, top_k, top_p, generator):
    """The loop generate_reply had before it reused generation.generate: the numbers must not change."""
    from course_utils.generation import choose_next_token, next_token_logits

    prompt = context_window(tok.turns(list(history), last_speaker=USER), block_size - 1) + [tok.bot_id]
    idx, reply = torch.tensor([prompt]), []
    model.eval()
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = next_token_logits(model, idx)
            logits[:, [tok.pad_id, tok.user_id, tok.bot_id]] = float("-inf")
            nxt = choose_next_token(logits, strategy, temperature, top_k, top_p, generator)
            if nxt.item() == tok.end_id:
                break
            reply.append(nxt.item())
            idx = torch.cat([idx, nxt[:, None]], dim=1)
    return tok.decode(reply)


@pytest.mark.parametrize("kwargs", [{"strategy": "greedy"},
                                    {"strategy": "sample", "temperature": 0.8, "top_k": 5},
                                    {"strategy": "sample", "top_p": 0.9}])
def test_generate_reply_is_generate_with_banned_speakers_and_a_stop_token(tok, kwargs):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, d_model=16, n_heads=2, n_layers=1))
    history = ["my printer is not printing"]
    full = {"strategy": "greedy", "temperature": 1.0, "top_k": None, "top_p": None, **kwargs}
    for seed in range(3):
        ours = generate_reply(model, tok, history, 32, 20, generator=torch.Generator().manual_seed(seed), **kwargs)
        reference = _reference_reply(model, tok, history, 32, 20, generator=torch.Generator().manual_seed(seed),
                                     **full)
        assert ours == reference


def test_token_f1():
    assert token_f1("check the cable", "check the cable") == 1.0
    assert token_f1("hello", "goodbye") == 0.0
    assert token_f1("check the power cable", "check the cable") == pytest.approx(2 * 0.75 * 1 / 1.75)


def test_intent_rules():
    assert detect_intent("My printer is not printing.") == "printer"
    assert detect_intent("My laptop screen is black.") == "black_screen"     # before any other rule
    assert detect_intent("tell me a joke") is None
    assert detect_intent("x", rules={"any": "x"}) == "any"
    with pytest.raises(TypeError, match="text must be str"):
        detect_intent(None)
    assert {g for _, g in SUPPORT_TEST_REQUESTS} - {None} == set(TECH_SUPPORT_INTENTS)
    answers = intent_answers(dialogue_pairs(CONVS))
    assert answers == {"printer": "Add paper."}


def test_support_bot_tiers():
    bot = SupportBot({"printer": "Add paper."}, fallback=lambda t: ("Hello!", 0.9 if "hi" in t else 0.1))
    assert bot.respond_with_reason("printer broken") == ("Add paper.", "intent:printer")
    assert bot.respond_with_reason("hi there") == ("Hello!", "fallback")
    assert bot.respond_with_reason("refund?") == (HANDOFF_REPLY, "handoff")
    assert SupportBot({}).respond("anything") == HANDOFF_REPLY
    with pytest.raises(ValueError, match="min_confidence"):
        SupportBot({}, min_confidence=2)


def test_chat_loop_never_blocks_unless_asked(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_INTERACTIVE", raising=False)
    def no_input(prompt):
        raise AssertionError("input() must not be called")
    assert chat_loop(str.upper, input_fn=no_input) == []
    assert "interactive chat skipped" in capsys.readouterr().out
    assert chat_loop(str.upper, inputs=["hi", "bye"]) == [("hi", "HI"), ("bye", "BYE")]
    answers = iter(["hello", "quit", "never read"])
    assert chat_loop(str.upper, interactive=True, input_fn=lambda p: next(answers)) == [("hello", "HELLO")]
    monkeypatch.setenv("COURSE_INTERACTIVE", "1")
    answers = iter(["a", ""])
    assert chat_loop(str.upper, input_fn=lambda p: next(answers)) == [("a", "A")]
    with pytest.raises(TypeError, match="got one str"):
        chat_loop(str.upper, inputs="hi")
