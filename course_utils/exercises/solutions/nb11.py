"""Reference solutions for notebook 11 (11_scaling_up.ipynb). Try each exercise first;
`show_solution(11, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def days_to_train(n_params: float, n_tokens: float, flops_per_second: float) -> float:
    return 6 * n_params * n_tokens / flops_per_second / 86_400

# %% exercise 2
def accumulate_gradients(model, x, y, k: int) -> None:
    for x_i, y_i in zip(x.chunk(k), y.chunk(k)):   # k micro-batches of (B/k, T)
        (lm_loss(model(x_i), y_i) / k).backward()  # backward adds into p.grad

# %% exercise 3
def simulate_ddp_step(model, x, y, world_size: int, lr: float) -> list:
    replicas = [copy.deepcopy(model) for _ in range(world_size)]                  # 1) a full copy per rank
    for replica, x_r, y_r in zip(replicas, x.chunk(world_size), y.chunk(world_size)):
        replica.zero_grad(set_to_none=True)
        lm_loss(replica(x_r), y_r).backward()                                      # 2) its slice's gradient
    for params in zip(*(r.parameters() for r in replicas)):                        # 3) the all-reduce (mean)
        mean = sum(p.grad for p in params) / world_size
        for p in params:
            p.grad = mean.clone()
    with torch.no_grad():                                                          # 4) the same step everywhere
        for replica in replicas:
            for p in replica.parameters():
                p -= lr * p.grad
    return replicas

# %% exercise 4
def memory_per_device_gb(n_params: float, world_size: int, strategy: str) -> float:
    total_bytes = 16 * n_params                     # 4 weight + 4 gradient + 8 AdamW (m, v)
    per_device = total_bytes if strategy == "ddp" else total_bytes / world_size
    return per_device / 1e9
