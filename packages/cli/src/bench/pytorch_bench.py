"""The bench's PyTorch side: the same workloads, written the way a researcher would (a plain loop).

    python3 pytorch_bench.py <threads> <seconds>   ->  one JSON line per workload, plus the sgemm limit
"""
import json
import sys
import time

import torch

WORKLOADS = [
    ("W1", 20, [32], 5, 32),
    ("W2", 32, [128, 128], 10, 64),
    ("W3", 64, [512, 512], 10, 256),
]


def mlp(input_dim, hidden, output_dim):
    layers, width = [], input_dim
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, output_dim))
    return torch.nn.Sequential(*layers)


def train_rate(name, input_dim, hidden, output_dim, batch, seconds):
    torch.manual_seed(0)
    x = torch.randn(batch * 64, input_dim)
    y = torch.randint(0, output_dim, (batch * 64,))
    model = mlp(input_dim, hidden, output_dim)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    steps, start = 0, None
    while True:
        order = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], batch):
            idx = order[i : i + batch]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            if start is None:
                start = time.perf_counter()  # measure from the first step, as the JS side does
                continue
            steps += 1
            if time.perf_counter() - start > seconds:
                return {"what": name, "samplesPerSecond": steps * batch / (time.perf_counter() - start)}


def sgemm_limit(seconds):
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        runs += 1
    return {"what": "sgemm-2048", "gflops": 2 * 2048**3 * runs / (time.perf_counter() - start) / 1e9}


if __name__ == "__main__":
    threads, seconds = int(sys.argv[1]), float(sys.argv[2])
    torch.set_num_threads(threads)
    print(json.dumps({**sgemm_limit(seconds), "threads": threads, "torch": torch.__version__}))
    for workload in WORKLOADS:
        print(json.dumps({**train_rate(*workload, seconds), "threads": threads}))
