"""course_utils.instructions: the chat template round-trips and masks only the assistant's tokens; the
instruction data is deterministic, correct by rule, and its held-out items are unseen; exact match scores."""
import datetime

import pytest
import torch

from course_utils.bpe import BPETokenizer
from course_utils.generation import generate
from course_utils.instructions import (ASSISTANT, END, IGNORE, SPECIALS, TASKS, USER, ChatTemplate, Instruction,
                                       TextOnly, add_chat_tokens, chat_answers, check_disjoint, conversation,
                                       exact_match, exact_match_by_task, few_shot_answers, few_shot_prompt,
                                       greedy_answers, instruction_splits)
from course_utils.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")

CHAT = [{"role": "user", "content": "Write Feb 15, 2019 as YYYY-MM-DD."},
        {"role": "assistant", "content": "2019-02-15"},
        {"role": "user", "content": "Et en français ? 日期"},
        {"role": "assistant", "content": " 15 février 2019 "}]


@pytest.fixture(scope="module")
def tok():
    return BPETokenizer.train("Write the date as YYYY-MM-DD. What is larger: 23 or 45? " * 20, vocab_size=280)


@pytest.fixture()
def template(tok):
    return ChatTemplate(tok)


def test_special_ids_follow_the_base_vocabulary(tok, template):
    assert [template.special_ids[s] for s in SPECIALS] == list(range(tok.vocab_size, tok.vocab_size + 4))
    assert template.vocab_size == tok.vocab_size + 4
    assert max(tok.encode(f"{USER} hi {END} {ASSISTANT}")) < tok.vocab_size    # text never makes a special id


def test_render_parse_and_encode_decode_round_trip(template):
    text = template.render(CHAT)
    assert text.startswith(f"{USER} Write Feb") and text.endswith(f"{ASSISTANT}  15 février 2019 {END}")
    assert template.parse(text) == CHAT
    ids, mask = template.encode(CHAT)
    assert template.decode(ids) == CHAT
    assert ids.count(template.end_id) == 4 and ids[0] == template.user_id and len(mask) == len(ids)


def test_mask_and_targets_cover_exactly_the_assistant_tokens(template, tok):
    ids, mask = template.encode(CHAT)
    kept = [i for i, m in zip(ids, mask) if m]
    expected = (tok.encode(" 2019-02-15") + [template.end_id] + tok.encode("  15 février 2019 ") + [template.end_id])
    assert kept == expected                                            # no user token, no <|assistant|> header
    inputs, targets = template.training_example(CHAT, block_size=len(ids) - 1)
    assert inputs == ids[:-1] and len(targets) == len(inputs)
    assert [t for t in targets if t != IGNORE] == expected
    for t, (target, keep) in enumerate(zip(targets, mask[1:])):       # position t predicts ids[t + 1]
        assert (target != IGNORE) == keep and (not keep or target == ids[t + 1])


def test_prompt_ids_end_with_the_assistant_header(template, tok):
    assert template.prompt_ids("hi") == [template.user_id, *tok.encode(" hi"), template.end_id, template.assistant_id]


def test_bad_conversations_are_refused(template):
    with pytest.raises(ValueError, match="message 0 must be"):
        template.encode([{"role": "system", "content": "x"}])
    with pytest.raises(ValueError, match="special token"):
        template.encode(conversation(f"hi {ASSISTANT} 42", "x"))
    with pytest.raises(ValueError, match="non-empty list"):
        template.encode("hi")
    with pytest.raises(ValueError, match="stray text"):
        template.parse(f"oops{USER} hi{END}")
    with pytest.raises(ValueError, match="block_size"):
        template.training_example(CHAT, block_size=4)
    with pytest.raises(ValueError, match="outside a turn"):
        template.decode([5, template.end_id])


def test_add_chat_tokens_grows_the_model_to_the_template(tok):
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, d_model=16, n_heads=2, n_layers=1))
    template = add_chat_tokens(model, tok)
    assert model.config.vocab_size == template.vocab_size
    with pytest.raises(ValueError, match="has none yet"):
        add_chat_tokens(model, tok)


def test_text_only_drops_the_chat_tokens_from_the_softmax(tok):
    from course_utils.pretrained import score_text

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, d_model=16, n_heads=2, n_layers=1)).eval()
    before = score_text(model, tok, "Write the date as YYYY-MM-DD.")["nats"]
    template = add_chat_tokens(model, tok)
    ids = torch.tensor([tok.encode("What is larger")])
    assert torch.equal(TextOnly(model, template)(ids), model(ids)[..., : tok.vocab_size])
    with torch.no_grad():
        model.embed.token.weight[template.end_id] *= 50                  # a chat model that loves <|end|>
    with_chat = score_text(model, tok, "Write the date as YYYY-MM-DD.")["nats"]
    text_only = score_text(TextOnly(model, template), tok, "Write the date as YYYY-MM-DD.")["nats"]
    assert text_only < with_chat and text_only == pytest.approx(before, rel=1e-6)   # the old rows are untouched


def test_chat_answers_equal_greedy_generation_with_role_tokens_banned(tok):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, d_model=16, n_heads=2, n_layers=1)).eval()
    template = add_chat_tokens(model, tok)
    prompts = ["What is larger: 23 or 45?", "Write the date"]
    answers = chat_answers(model, template, prompts, max_new_tokens=6)
    for prompt, answer in zip(prompts, answers):
        ids = torch.tensor([template.prompt_ids(prompt)])
        out = generate(model, ids, 6, strategy="greedy", stop_id=template.end_id,
                       banned_ids=[template.pad_id, template.user_id, template.assistant_id])[0, ids.size(1):].tolist()
        assert answer == tok.decode([i for i in out if i != template.end_id]).strip()


def test_greedy_answers_equal_greedy_batch_on_ragged_prompts(tok):
    from course_utils.finetune import greedy_batch

    torch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=24, d_model=16, n_heads=2, n_layers=2)).eval()
    gen = torch.Generator().manual_seed(0)
    prompts = [torch.randint(0, tok.vocab_size, (n,), generator=gen).tolist() for n in (3, 7, 3, 12, 1, 7)]
    stop = int(model(torch.tensor([prompts[0]]))[0, -1].argmax())       # some rows stop early
    expected = greedy_batch(model, prompts, stop, max_new_tokens=6, banned_ids=[5])
    assert greedy_answers(model, prompts, stop, 6, banned_ids=[5], batch_size=2) == expected
    assert any(len(e) < 6 for e in expected)
    with pytest.raises(ValueError, match="leaves no room"):
        greedy_answers(model, prompts, stop, max_new_tokens=24)


def test_few_shot_prompt_and_answers(tok):
    demos = [Instruction("larger", "What is larger: 2 or 3?", "3", "rule"),
             Instruction("larger", "What is larger: 9 or 4?", "9", "rule")]
    assert few_shot_prompt(demos, "What is larger: 5 or 1?") == (
        "Q: What is larger: 2 or 3?\nA: 3\n\nQ: What is larger: 9 or 4?\nA: 9\n\nQ: What is larger: 5 or 1?\nA:")
    assert few_shot_prompt(demos[:1], "x?", "tab") == "What is larger: 2 or 3?\t3\nx?\t"
    assert few_shot_prompt(demos[:1], "x?", "lines") == "What is larger: 2 or 3?\n3\n\nx?\n"
    with pytest.raises(ValueError, match="layout must be"):
        few_shot_prompt(demos, "x?", "chat")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=24, d_model=16, n_heads=2, n_layers=1))
    answers = few_shot_answers(model, tok, demos * 5, ["What is larger: 5 or 1?"], max_new_tokens=4)
    assert len(answers) == 1 and "\n" not in answers[0]               # demos that do not fit are dropped


def test_exact_match_by_task_is_a_plain_share():
    items = [Instruction("a", "p1", "1", "s"), Instruction("a", "p2", "2", "s"), Instruction("b", "p3", "x", "s")]
    assert exact_match_by_task(items, [" 1", "3", "x"]) == {"a": 0.5, "b": 1.0, "all": 2 / 3}
    assert exact_match(["2019-02-15"], ["2019-02-15 "]) == 1.0
    with pytest.raises(ValueError, match="as many predictions"):
        exact_match(["1"], ["1", "2"])


@pytest.fixture(scope="module")
def splits():
    return instruction_splits(("date_iso", "larger", "add", "doc_package", "ui_fr", "reverse", "speaker"),
                              n_train=60, n_val=10, n_test=20)


def test_splits_are_deterministic_disjoint_and_sized(splits):
    again = instruction_splits(("date_iso", "larger", "add", "doc_package", "ui_fr", "reverse", "speaker"),
                               n_train=60, n_val=10, n_test=20)
    assert again == splits
    check_disjoint(splits)
    for split, n in (("train", 60), ("val", 10), ("test", 20)):
        counts = {task: sum(x.task == task for x in splits[split]) for task in TASKS}
        assert counts == {task: n for task in TASKS}, split
    with pytest.raises(ValueError, match="share 1 prompts"):
        check_disjoint({"train": splits["train"][:1], "test": splits["train"][:1]})


def test_answers_are_right_by_rule(splits):
    cldr_en_us = {"full": "%A, %B %d, %Y", "long": "%B %d, %Y", "medium": "%b %d, %Y"}
    for x in (x for split in splits.values() for x in split):
        assert x.source and x.answer.strip() == x.answer
        if x.task == "date_iso":
            written = x.prompt.removeprefix("Write ").removesuffix(" as YYYY-MM-DD.")
            fmt = x.source.rsplit(" ", 1)[1].strip("'")
            assert datetime.datetime.strptime(written, cldr_en_us[fmt]).date().isoformat() == x.answer
        elif x.task in ("larger", "add"):
            a, b = map(int, x.prompt.rstrip("?").split(": " if x.task == "larger" else "is ")[1]
                       .replace(" or ", " + ").split(" + "))
            assert x.answer == str(max(a, b) if x.task == "larger" else a + b)
        elif x.task == "reverse":
            assert x.answer.split() == x.prompt.removeprefix("Reverse the words: ").split()[::-1]
        elif x.task == "doc_package":
            assert x.answer in ("numpy", "scipy", "pandas", "sklearn") and x.source.split(": ")[1].startswith(x.answer)


def test_held_out_items_come_from_data_the_base_model_never_saw(splits):
    from course_utils.dates import split_dates
    from course_utils.pretrain_corpus import notebook_splits

    _, held_days = split_dates(first_year=1900, last_year=2099, n_test=500, seed=0)
    nb = notebook_splits()
    train_en = {en.lower() for en, _ in nb["mt_en_fr"][0]}
    train_summaries = {summary for _, summary, _ in nb["docsum"][0]}
    (train_text,), _ = nb["shakespeare"]
    for x in splits["test"]:
        if x.task == "date_iso":
            assert datetime.date.fromisoformat(x.answer) in held_days
        elif x.task == "ui_fr":
            assert x.prompt.removeprefix("Translate to French: ").lower() not in train_en
        elif x.task == "reverse":
            assert x.prompt.removeprefix("Reverse the words: ").lower() not in train_en
        elif x.task == "doc_package":
            assert x.prompt.removeprefix("Which library: ") not in train_summaries
        elif x.task == "speaker":
            assert f"\n\n{x.answer}.\n{x.prompt.removeprefix('Who speaks: ')}\n" not in train_text


def test_bad_split_arguments_are_refused():
    with pytest.raises(ValueError, match="tasks must be"):
        instruction_splits(("nope",))
    with pytest.raises(ValueError, match="n_test"):
        instruction_splits(("larger",), n_test=0)
    with pytest.raises(ValueError, match="max_operand=5 gives"):
        instruction_splits(("larger",), n_val=10, n_test=10, max_operand=5)
