"""Reference solutions for notebook 01 (01_vocabulary_and_encoding.ipynb). Try each exercise first;
`show_solution(1, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
from course_utils.tokenizers import SPECIAL_TOKENS

def build_itos(token_lists, min_freq=1, max_size=None):
    counts = Counter(token for tokens in token_lists for token in tokens)
    kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
    itos = list(SPECIAL_TOKENS) + kept          # the notebook's specials: <pad> <unk> <bos> <eos>
    return itos if max_size is None else itos[:max_size]

# %% exercise 2
def one_hot(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    out = torch.zeros(len(ids), vocab_size)      # (T, V)
    out[torch.arange(len(ids)), ids] = 1.0       # one 1 per row, in column ids[t]
    return out

# %% exercise 3
from course_utils.bpe import merge_pair

def encode_chunk(chunk: str, merges: list) -> list:
    ids = tuple(chunk.encode("utf-8"))
    for i, pair in enumerate(merges):            # earliest-learned merge first, as in training
        ids = merge_pair(ids, pair, 256 + i)      # the notebook's merge(), from the package
    return list(ids)

# %% exercise 4
def decode_from_merges(ids: list, merges: list) -> str:
    vocab_bytes = {i: bytes([i]) for i in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab_bytes[256 + i] = vocab_bytes[a] + vocab_bytes[b]
    return b"".join(vocab_bytes[i] for i in ids).decode("utf-8", errors="replace")
