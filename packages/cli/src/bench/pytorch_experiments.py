"""The bench's PyTorch side for the experiments: each experiment's default sweep written the way a
researcher would (nn.Sequential, a loop over configurations and epochs, torch.optim), doing the same work
as packages/experiments/src/<name>.ts: the same configurations, data sizes, widths, epochs, batch sizes,
optimizers, per-epoch evaluations and metrics. The synthetic data are drawn the same way, not bit-identically.
The parameters are the experiments' own declarations, read as JSON on stdin, never copied here:

    axiom list --json | python3 pytorch_experiments.py [--threads N] [--experiment NAME [--shard K/N]] [--quick]

prints one JSON line per experiment: wall seconds, threads, torch version, configurations, training steps
and the headline results (to check the science matches). --quick runs each experiment's smoke preset
(its declared `presets.smoke`), for a smoke check. --shard K/N runs only the configurations whose index
(in the sweep's order) is ≡ K mod N: N such processes side by side time the sweep split over N cores.
"""
import argparse
import copy
import json
import math
import re
import statistics
import sys
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- shared pieces (lib/*.ts)


def he_uniform(linear):
    """He-uniform weights, zero biases: lib/mlp.ts's initialisation (not PyTorch's default), so training
    dynamics, and with them early stopping, match."""
    nn.init.kaiming_uniform_(linear.weight, nonlinearity="relu")
    nn.init.zeros_(linear.bias)
    return linear


def mlp(input_dim, hidden, output_dim):
    layers, width = [], input_dim
    for h in hidden:
        layers += [he_uniform(nn.Linear(width, h)), nn.ReLU()]
        width = h
    layers.append(he_uniform(nn.Linear(width, output_dim)))
    return nn.Sequential(*layers)


def make_optimizer(name, model, lr):
    return torch.optim.Adam(model.parameters(), lr=lr) if name == "adam" else torch.optim.SGD(model.parameters(), lr=lr)


def train_epoch(model, optimizer, x, targets, order, batch_size, loss_fn):
    """One pass over the rows in `order`, in minibatches; returns the number of steps taken."""
    steps = 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        optimizer.zero_grad()
        loss_fn(model(x[idx]), targets[idx]).backward()
        optimizer.step()
        steps += 1
    return steps


@torch.no_grad()
def predict(model, x):
    return model(x).argmax(dim=1)


def accuracy(predicted, labels, mask=None):
    correct = predicted == labels
    if mask is not None:
        correct = correct[mask]
    return correct.float().mean().item() if len(correct) else 0.0


def cluster_centres(input_dim, classes, clusters_per_class, separation):
    """Gaussian cluster centres, `clusters_per_class` per class (lib/data.ts clusterTask)."""
    return torch.randn(classes * clusters_per_class, input_dim) * separation


def sample_clusters(centres, classes, clusters_per_class, size, centre_scale=None):
    """A uniform class, one of its clusters, unit Gaussian noise; centres optionally scaled per example."""
    y = torch.randint(classes, (size,))
    cluster = y * clusters_per_class + torch.randint(clusters_per_class, (size,))
    scale = 1.0 if centre_scale is None else centre_scale[:, None]
    x = scale * centres[cluster] + torch.randn(size, centres.shape[1])
    return x, y


class ExampleTracker:
    """Per training example: the first epoch it is classified correctly, and the epoch since which it has stayed so (-1: not yet)."""

    def __init__(self, labels):
        self.labels = labels
        self.first_fit = torch.full_like(labels, -1)
        self.learned_since = torch.full_like(labels, -1)

    def update(self, epoch, predicted):
        correct = predicted == self.labels
        self.first_fit[correct & (self.first_fit == -1)] = epoch
        self.learned_since[~correct] = -1
        self.learned_since[correct & (self.learned_since == -1)] = epoch


def epochs_or_never(epochs, never):
    """Per-example epochs as floats, "not yet" (-1) counted as epoch `never`, as lib/tracking.ts summarises them."""
    return torch.where(epochs < 0, torch.tensor(never), epochs).float()


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


class Shard:
    """The configurations one process runs (--shard K/N): those whose index in the sweep's order is ≡ K mod N.
    Each experiment asks take() once per configuration, in order, and skips the ones that are not its own.
    A shard's random draws then differ from the whole sweep's and its results are a part of the sweep's,
    so it reports no headline: it is there to time the sweep split over N processes."""

    def __init__(self, index=0, count=1):
        self.index, self.count, self.next_configuration = index, count, 0
        self.partial = count > 1

    def take(self):
        """Whether the sweep's next configuration is this shard's."""
        mine = self.next_configuration % self.count == self.index
        self.next_configuration += 1
        return mine


# ---------------------------------------------------------------- curriculum-learning




def sorted_by_level(level, easy_first):
    """All rows by level (easiest first, or hardest first), in random order within each level."""
    shuffled = torch.randperm(len(level))
    return shuffled[torch.sort(level[shuffled], stable=True, descending=not easy_first).indices]


def epoch_order(ordering, level, epoch, p):
    """The rows visited in one epoch: always len(level) of them, so every ordering takes the same steps."""
    size = len(level)
    if ordering == "random":
        return torch.randperm(size)
    if ordering in ("easy-first", "hard-first"):
        return sorted_by_level(level, ordering == "easy-first")
    # paced: fresh permutations of the easiest g(epoch) of the rows, g growing linearly to 1
    fraction = min(1.0, p.pacing_start + (1 - p.pacing_start) * (epoch - 1) / (p.pacing_full_at * p.epochs))
    pool = sorted_by_level(level, True)[: math.ceil(fraction * size)]
    repeats = math.ceil(size / len(pool))
    return pool[torch.cat([torch.randperm(len(pool)) for _ in range(repeats)])[:size]]


def level_order_agreement(epochs_by_level):
    """Fraction of (easier, harder) level pairs whose easier level is learned first; ties count one half."""
    pairs = [(a, b) for i, a in enumerate(epochs_by_level) for b in epochs_by_level[i + 1 :]]
    return mean([1.0 if a < b else 0.5 if a == b else 0.0 for a, b in pairs])


def curriculum_learning(p, shard):
    levels = len(p.centre_scales)
    torch.manual_seed(0)  # one task and data set for every configuration
    centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
    scales = torch.tensor(p.centre_scales)
    train_level = torch.randint(levels, (p.train_size,))
    x_train, y_train = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size, scales[train_level])
    test_level = torch.randint(levels, (p.test_size,))
    x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size, scales[test_level])

    results, steps = [], 0
    for ordering in p.orderings:
        for width in p.widths:
            for lr in p.learning_rates:
                if not shard.take():
                    continue
                torch.manual_seed(width)  # the same initialisation for every ordering and learning rate at this width
                model = mlp(p.input_dim, [width] * p.depth, p.classes)
                optimizer = make_optimizer(p.optimizer, model, lr)
                tracker = ExampleTracker(y_train)
                test_accuracy, test_accuracy_by_level = [], [[] for _ in range(levels)]
                for epoch in range(1, p.epochs + 1):
                    order = epoch_order(ordering, train_level, epoch, p)
                    steps += train_epoch(model, optimizer, x_train, y_train, order, p.batch_size, F.cross_entropy)
                    tracker.update(epoch, predict(model, x_train))
                    predicted = predict(model, x_test)
                    test_accuracy.append(accuracy(predicted, y_test))
                    for level in range(levels):
                        test_accuracy_by_level[level].append(accuracy(predicted, y_test, test_level == level))
                learned = epochs_or_never(tracker.learned_since, p.epochs + 1)
                crossing = next((i + 1 for i, a in enumerate(test_accuracy) if a >= p.accuracy_threshold), None)
                results.append(
                    dict(
                        ordering=ordering,
                        final_test_accuracy=test_accuracy[-1],
                        final_test_accuracy_by_level=[curve[-1] for curve in test_accuracy_by_level],
                        short_budget_test_accuracy=test_accuracy[min(p.short_budget, p.epochs) - 1],
                        epochs_to_threshold=crossing,
                        mean_learned_epoch_by_level=[learned[train_level == level].mean().item() for level in range(levels)],
                    )
                )

    if shard.partial:
        return len(results), steps, None
    by_ordering = {}
    for ordering in p.orderings:
        rows = [r for r in results if r["ordering"] == ordering]
        learned_by_level = [mean([r["mean_learned_epoch_by_level"][level] for r in rows]) for level in range(levels)]
        by_ordering[ordering] = dict(
            final_test_accuracy=mean([r["final_test_accuracy"] for r in rows]),
            short_budget_test_accuracy=mean([r["short_budget_test_accuracy"] for r in rows]),
            epochs_to_threshold=mean([r["epochs_to_threshold"] for r in rows]),
            level_order_agreement=level_order_agreement(learned_by_level),
        )
    return len(results), steps, by_ordering


# ---------------------------------------------------------------- memorization-dynamics




def corrupt_labels(y, fraction, classes):
    """Replace a random `fraction` of the labels by a different class, drawn uniformly."""
    chosen = torch.randperm(len(y))[: round(fraction * len(y))]
    noisy = y.clone()
    noisy[chosen] = (y[chosen] + torch.randint(1, classes, (len(chosen),))) % classes
    corrupted = torch.zeros(len(y), dtype=torch.bool)
    corrupted[chosen] = True
    return noisy, corrupted


def clean_first_rate(first_fit, corrupted):
    """Fraction of (clean, corrupted) pairs whose clean example was fit first; ties count one half."""
    clean, noisy = first_fit[~corrupted][:, None], first_fit[corrupted][None, :]
    if clean.numel() == 0 or noisy.numel() == 0:
        return None
    return ((clean < noisy).float().mean() + 0.5 * (clean == noisy).float().mean()).item()


def memorization_dynamics(p, shard):
    results, steps = [], 0
    for replicate in range(p.replicates):
        # The task, clean data and initialisation depend on the replicate only: levels differ in their labels.
        torch.manual_seed(replicate)
        centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
        x_train, y_clean = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
        x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size)
        for level in p.corruption_levels:
            if not shard.take():
                continue
            y_train, corrupted = corrupt_labels(y_clean, level, p.classes)
            torch.manual_seed(1000 + replicate)
            model = mlp(p.input_dim, p.hidden, p.classes)
            optimizer = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
            tracker = ExampleTracker(y_train)
            test_accuracy, train_accuracy_clean, train_accuracy_corrupted = [], [], []
            for epoch in range(1, p.epochs + 1):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.cross_entropy)
                predicted = predict(model, x_train)
                tracker.update(epoch, predicted)
                train_accuracy_clean.append(accuracy(predicted, y_train, ~corrupted))
                if level > 0:
                    train_accuracy_corrupted.append(accuracy(predicted, y_train, corrupted))
                test_accuracy.append(accuracy(predict(model, x_test), y_test))
            first_fit = epochs_or_never(tracker.first_fit, p.epochs + 1)
            peak = max(test_accuracy)
            results.append(
                dict(
                    level=level,
                    final_test_accuracy=test_accuracy[-1],
                    peak_test_accuracy=peak,
                    peak_epoch=test_accuracy.index(peak) + 1,
                    clean_first_rate=clean_first_rate(first_fit, corrupted),
                    median_first_fit_clean=first_fit[~corrupted].median().item(),
                    median_first_fit_corrupted=first_fit[corrupted].median().item() if level > 0 else None,
                    final_fit_corrupted=train_accuracy_corrupted[-1] if level > 0 else None,
                )
            )

    if shard.partial:
        return len(results), steps, None
    by_level = {}
    for level in p.corruption_levels:
        rows = [r for r in results if r["level"] == level]
        by_level[str(level)] = dict(
            test_accuracy=mean([r["final_test_accuracy"] for r in rows]),
            peak_test_accuracy=mean([r["peak_test_accuracy"] for r in rows]),
            clean_first_rate=mean([r["clean_first_rate"] for r in rows]),
        )
    return len(results), steps, by_level


# ---------------------------------------------------------------- micro-scaling-laws



RELU_MEAN = 1 / math.sqrt(2 * math.pi)  # E[relu(z)], z ~ N(0, 1)
RELU_VARIANCE = 0.5 - 1 / (2 * math.pi)


def sample_teacher(weights, readout, size, noise):
    """x ~ N(0, I) labelled by the teacher's centred output, plus N(0, noise²)."""
    x = torch.randn(size, weights.shape[1])
    y = (torch.relu(x @ weights.T) - RELU_MEAN) @ readout + noise * torch.randn(size)
    return x, y[:, None]


def index_rounds(size, length):
    """Endless reshuffled epochs of range(size), handed out `length` indices at a time (rounds may straddle epochs)."""
    buffer = torch.empty(0, dtype=torch.long)
    while True:
        while len(buffer) < length:
            buffer = torch.cat([buffer, torch.randperm(size)])
        yield buffer[:length]
        buffer = buffer[length:]


@torch.no_grad()
def mse(model, x, y):
    return F.mse_loss(model(x), y).item()


def fit_power_law(points, c=0.0):
    """L = a·x^(−alpha) + c by least squares of log(L − c) on log x; r2 is that of log L."""
    log_x = [math.log(x) for x, _ in points]
    slope, intercept = statistics.linear_regression(log_x, [math.log(loss - c) for _, loss in points])
    log_loss = [math.log(loss) for _, loss in points]
    fitted = [math.log(math.exp(intercept + slope * lx) + c) for lx in log_x]
    residual = sum((a - b) ** 2 for a, b in zip(log_loss, fitted))
    total = sum((a - statistics.fmean(log_loss)) ** 2 for a in log_loss)
    return dict(a=math.exp(intercept), alpha=-slope, c=c, r2=1 - residual / total)


def fit_power_law_with_offset(points, grid=200):
    """The offset c on a grid in [0, min L), chosen by the best r2 of log L."""
    lowest = min(loss for _, loss in points)
    return max((fit_power_law(points, lowest * step / grid) for step in range(grid)), key=lambda fit: fit["r2"])


def micro_scaling_laws(p, shard):
    # One teacher and one held-out set for every configuration; smaller training sets are prefixes of larger ones.
    torch.manual_seed(0)
    teacher_weights = torch.randn(p.teacher_hidden, p.input_dim) / math.sqrt(p.input_dim)
    teacher_readout = torch.randn(p.teacher_hidden) / math.sqrt(p.teacher_hidden * RELU_VARIANCE)
    x_val, y_val = sample_teacher(teacher_weights, teacher_readout, p.validation_size, p.label_noise)
    x_test, y_test = sample_teacher(teacher_weights, teacher_readout, p.test_size, 0.0)  # clean: the excess loss
    x_all, y_all = sample_teacher(teacher_weights, teacher_readout, max(p.train_sizes + [p.parameter_sweep_train_size]), p.label_noise)

    configs = [("data", n, p.data_sweep_width) for n in p.train_sizes] + [("width", p.parameter_sweep_train_size, w) for w in p.widths]
    results, steps = [], 0
    for sweep, train_size, width in configs:
        if not shard.take():
            continue
        x_train, y_train = x_all[:train_size], y_all[:train_size]
        model = mlp(p.input_dim, [width] * p.depth, 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
        # Rounds of `steps_per_evaluation` steps, then a validation check; early stopping on it.
        rounds = index_rounds(train_size, p.steps_per_evaluation * p.batch_size)
        best_evaluation, best_validation, best_test = 0, math.inf, math.inf
        for evaluation in range(1, math.ceil(p.max_steps / p.steps_per_evaluation) + 1):
            steps += train_epoch(model, optimizer, x_train, y_train, next(rounds), p.batch_size, F.mse_loss)
            validation_loss, test_loss = mse(model, x_val, y_val), mse(model, x_test, y_test)
            if validation_loss < best_validation:
                best_evaluation, best_validation, best_test = evaluation, validation_loss, test_loss
            if evaluation - best_evaluation >= p.patience:
                break
        parameters = sum(t.numel() for t in model.parameters())
        results.append(dict(sweep=sweep, train_size=train_size, parameters=parameters, test_loss=best_test, steps_trained=evaluation * p.steps_per_evaluation))

    if shard.partial:
        return len(results), steps, None
    def points(sweep, x):
        return [(r[x], r["test_loss"]) for r in results if r["sweep"] == sweep and math.isfinite(r["test_loss"])]

    data_fit, parameter_fit = fit_power_law(points("data", "train_size")), fit_power_law(points("width", "parameters"))
    data_fit_offset, parameter_fit_offset = fit_power_law_with_offset(points("data", "train_size")), fit_power_law_with_offset(points("width", "parameters"))
    headline = dict(
        data_exponent=-data_fit["alpha"],
        data_r2=data_fit["r2"],
        data_offset=data_fit_offset["c"],
        parameter_exponent=-parameter_fit["alpha"],
        parameter_r2=parameter_fit["r2"],
        parameter_offset=parameter_fit_offset["c"],
    )
    return len(results), steps, headline


# ---------------------------------------------------------------- feature-competition




def sample_competing_features(p, size, strong, weak):
    """Binary labels carried by a strong and a weak feature (margins along each feature's direction), then noise columns."""
    y = torch.randint(2, (size,))
    sign = (2 * y - 1).float()[:, None]
    x = torch.randn(size, 2 * p.feature_dims + p.noise_dims)
    x[:, strong] += sign * p.strong_margin / math.sqrt(p.feature_dims)
    x[:, weak] += sign * p.weak_margin / math.sqrt(p.feature_dims)
    return x, y


def shuffle_columns(x, columns):
    """The columns permuted jointly across examples: the feature keeps its distribution, no longer predicts the label."""
    shuffled = x.clone()
    shuffled[:, columns] = x[torch.randperm(len(x))][:, columns]
    return shuffled


def first_layer_gradient_norms(model, x, y, column_groups):
    """Norm of the full-data loss gradient on the first-layer weights reading each group of input columns."""
    (gradient,) = torch.autograd.grad(F.cross_entropy(model(x), y), model[0].weight)
    return [gradient[:, columns].norm().item() for columns in column_groups]


def feature_competition(p, shard):
    strong = list(range(0, p.feature_dims))
    weak = list(range(p.feature_dims, 2 * p.feature_dims))
    results, steps = [], 0
    for width in p.widths:
        for replicate in range(p.replicates):
            if not shard.take():
                continue
            torch.manual_seed(replicate)  # the data depend on the replicate only: widths see the same examples
            x_train, y_train = sample_competing_features(p, p.train_size, strong, weak)
            x_test, y_test = sample_competing_features(p, p.test_size, strong, weak)
            x_without_strong, x_without_weak = shuffle_columns(x_test, strong), shuffle_columns(x_test, weak)
            model = mlp(x_train.shape[1], [width] * p.depth, 2)
            optimizer = make_optimizer(p.optimizer, model, p.learning_rate)
            gradient_ratio, test_accuracy = [], []
            for _ in range(p.epochs):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.cross_entropy)
                strong_norm, weak_norm = first_layer_gradient_norms(model, x_train, y_train, [strong, weak])
                gradient_ratio.append(strong_norm / weak_norm if weak_norm > 0 else None)
                test_accuracy.append(accuracy(predict(model, x_test), y_test))
            results.append(
                dict(
                    width=width,
                    test_accuracy=test_accuracy[-1],
                    accuracy_strong_destroyed=accuracy(predict(model, x_without_strong), y_test),
                    accuracy_weak_destroyed=accuracy(predict(model, x_without_weak), y_test),
                    mean_gradient_ratio=mean(gradient_ratio),
                )
            )

    if shard.partial:
        return len(results), steps, None
    by_width = {}
    for width in p.widths:
        rows = [r for r in results if r["width"] == width]
        test_accuracy = mean([r["test_accuracy"] for r in rows])
        by_width[str(width)] = dict(
            mean_gradient_ratio=mean([r["mean_gradient_ratio"] for r in rows]),
            test_accuracy=test_accuracy,
            accuracy_drop_strong_destroyed=test_accuracy - mean([r["accuracy_strong_destroyed"] for r in rows]),
            accuracy_drop_weak_destroyed=test_accuracy - mean([r["accuracy_weak_destroyed"] for r in rows]),
        )
    return len(results), steps, by_width


# ---------------------------------------------------------------- representation-alignment




def linear_cka(x, y):
    """Linear CKA (Kornblith et al. 2019) of two representations of the same inputs; None if one is constant."""
    x, y = x - x.mean(dim=0), y - y.mean(dim=0)
    denominator = (x.T @ x).norm() * (y.T @ y).norm()
    return ((y.T @ x).norm() ** 2 / denominator).item() if denominator > 0 else None


def hidden_activations(model, x):
    """Post-ReLU output of every hidden layer."""
    outputs = []
    for layer in model:
        x = layer(x)
        if isinstance(layer, nn.ReLU):
            outputs.append(x)
    return outputs


def representation_alignment(p, shard):
    torch.manual_seed(0)  # one task and data set for every configuration; only the networks' seeds differ
    centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
    x_train, y_train = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
    x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size)

    def cka_by_layer(first, second):
        with torch.no_grad():
            return [linear_cka(a, b) for a, b in zip(hidden_activations(first, x_test), hidden_activations(second, x_test))]

    results, steps = [], 0
    for width in p.widths:
        for _ in range(p.pairs):
            if not shard.take():
                continue
            networks = [mlp(p.input_dim, [width] * p.depth, p.classes) for _ in range(2)]
            cka_at_init = cka_by_layer(*networks)
            test_accuracy = [[], []]
            for model, curve in zip(networks, test_accuracy):  # one network after the other
                optimizer = make_optimizer(p.optimizer, model, p.learning_rate)
                for _ in range(p.epochs):
                    steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.cross_entropy)
                    curve.append(accuracy(predict(model, x_test), y_test))
            results.append(dict(width=width, cka=cka_by_layer(*networks), cka_at_init=cka_at_init, test_accuracy=mean([curve[-1] for curve in test_accuracy])))

    if shard.partial:
        return len(results), steps, None
    by_width = {}
    for width in p.widths:
        rows = [r for r in results if r["width"] == width]
        by_width[str(width)] = dict(
            cka=mean([mean(r["cka"]) for r in rows]),
            cka_at_init=mean([mean(r["cka_at_init"]) for r in rows]),
            test_accuracy=mean([r["test_accuracy"] for r in rows]),
        )
    return len(results), steps, by_width


# ---------------------------------------------------------------- cellular-automata


def k_step_table(rule, k):
    """Every window of 2k+1 cells (±1 inputs, leftmost the most significant bit) and its centre after k steps of the rule."""
    cells_per_window = 2 * k + 1
    windows, labels = [], []
    for window in range(2**cells_per_window):
        cells = [(window >> (cells_per_window - 1 - j)) & 1 for j in range(cells_per_window)]
        windows.append([2 * cell - 1 for cell in cells])
        for _ in range(k):
            cells = [(rule >> (4 * cells[i - 1] + 2 * cells[i] + cells[i + 1])) & 1 for i in range(1, len(cells) - 1)]
        labels.append(cells[0])
    return torch.tensor(windows, dtype=torch.float32), torch.tensor(labels)


def cellular_automata(p, shard):
    results, steps = [], 0
    round_visits = p.steps_per_check * p.batch_size
    for k in p.steps_ahead:
        for width in p.widths:
            for rule in p.rules:
                x, y = k_step_table(rule, k)
                for _ in range(p.replicates):
                    if not shard.take():
                        continue
                    model = mlp(2 * k + 1, [width] * p.depth, 2)
                    optimizer = make_optimizer("adam", model, p.learning_rate)
                    steps_to_learn = None
                    for check in range(1, math.ceil(p.max_steps / p.steps_per_check) + 1):
                        # a round of steps over reshuffled passes through the windows, then every window is checked
                        order = torch.cat([torch.randperm(len(y)) for _ in range(math.ceil(round_visits / len(y)))])[:round_visits]
                        steps += train_epoch(model, optimizer, x, y, order, p.batch_size, F.cross_entropy)
                        if accuracy(predict(model, x), y) == 1:
                            steps_to_learn = check * p.steps_per_check
                            break
                    results.append(dict(rule=rule, k=k, width=width, learned=steps_to_learn is not None))

    if shard.partial:
        return len(results), steps, None
    def fraction_learned(where):
        return mean([1.0 if r["learned"] else 0.0 for r in results if where(r)])

    by_k = {
        str(k): dict(
            fraction_learned=fraction_learned(lambda r: r["k"] == k),
            narrowest=fraction_learned(lambda r: r["k"] == k and r["width"] == p.widths[0]),
            widest=fraction_learned(lambda r: r["k"] == k and r["width"] == p.widths[-1]),
        )
        for k in p.steps_ahead
    }
    return len(results), steps, by_k


# ---------------------------------------------------------------- emergence


RELU_MEAN = 1 / math.sqrt(2 * math.pi)


def sample_teacher_signs(teachers, input_dim, size):
    """Inputs x ~ N(0, I) and one 0/1 target per teacher (a random one-hidden-layer ReLU network): 1 where its centred output is positive."""
    x = torch.randn(size, input_dim)
    targets = torch.stack([(((x @ weights.T).relu() - RELU_MEAN) @ readout > 0).float() for weights, readout in teachers], dim=1)
    return x, targets


def sharpness(scales, values):
    """The largest rise between neighbouring scales, and the rise made by the middle scale (in log scale), as shares of the total rise."""
    rise = values[-1] - values[0]
    if not rise > 0:
        return dict(largest_jump_share=None, rise_by_midpoint=None)
    log_scales = [math.log(scale) for scale in scales]
    middle = (log_scales[0] + log_scales[-1]) / 2
    above = next(i for i, log_scale in enumerate(log_scales) if log_scale >= middle)
    at_middle = values[0] if above == 0 else values[above - 1] + (middle - log_scales[above - 1]) / (log_scales[above] - log_scales[above - 1]) * (values[above] - values[above - 1])
    jumps = [b - a for a, b in zip(values, values[1:])]
    return dict(largest_jump_share=max(jumps) / rise, rise_by_midpoint=(at_middle - values[0]) / rise)


def emergence(p, shard):
    teachers = [(torch.randn(p.teacher_hidden, p.input_dim) / math.sqrt(p.input_dim), torch.randn(p.teacher_hidden) / math.sqrt(p.teacher_hidden * (0.5 - 1 / (2 * math.pi)))) for _ in range(p.parts)]
    x_train, y_train = sample_teacher_signs(teachers, p.input_dim, p.train_size)
    x_test, y_test = sample_teacher_signs(teachers, p.input_dim, p.test_size)
    results, steps = [], 0
    for width in p.widths:
        for _ in range(p.replicates):
            if not shard.take():
                continue
            model = mlp(p.input_dim, [width] * p.depth, p.parts)
            optimizer = make_optimizer("adam", model, p.learning_rate)
            for _ in range(p.epochs):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.binary_cross_entropy_with_logits)
                with torch.no_grad():  # the test answers are scored after every epoch
                    logits = model(x_test)
                    right = (logits > 0).float() == y_test
                    part_accuracy, exact_match = right.float().mean().item(), right.all(dim=1).float().mean().item()
            results.append(dict(width=width, part_accuracy=part_accuracy, exact_match=exact_match, predicted_exact_match=part_accuracy**p.parts))

    if shard.partial:
        return len(results), steps, None
    by_width = {}
    for width in p.widths:
        rows = [r for r in results if r["width"] == width]
        by_width[str(width)] = {field: mean([r[field] for r in rows]) for field in ("part_accuracy", "exact_match", "predicted_exact_match")}
    headline = dict(
        by_width=by_width,
        sharpness={field: sharpness(p.widths, [by_width[str(width)][field] for width in p.widths]) for field in ("exact_match", "part_accuracy")},
    )
    return len(results), steps, headline


# ---------------------------------------------------------------- random-label-memorization


def randomize_labels(y, fraction, classes):
    """Redraw a random `fraction` of the labels uniformly from every class (a redrawn label may keep its true class)."""
    chosen = torch.randperm(len(y))[: round(fraction * len(y))]
    noisy = y.clone()
    noisy[chosen] = torch.randint(classes, (len(chosen),))
    return noisy


def random_label_memorization(p, shard):
    results, steps = [], 0
    for replicate in range(p.replicates):
        # The task, inputs, true labels and initialisation depend on the replicate only: fractions differ in their training labels.
        torch.manual_seed(replicate)
        centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
        x_train, y_true = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
        x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size)
        for fraction in p.random_fractions:
            if not shard.take():
                continue
            y_train = randomize_labels(y_true, fraction, p.classes)
            torch.manual_seed(1000 + replicate)
            model = mlp(p.input_dim, p.hidden, p.classes)
            optimizer = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
            tracker = ExampleTracker(y_train)
            # Train until the network fits its training labels (or the budget runs out); accuracies every epoch.
            epochs_to_fit = None
            for epoch in range(1, p.max_epochs + 1):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.cross_entropy)
                predicted = predict(model, x_train)
                tracker.update(epoch, predicted)
                train_accuracy = accuracy(predicted, y_train)
                test_accuracy = accuracy(predict(model, x_test), y_test)
                if train_accuracy >= p.fit_threshold:
                    epochs_to_fit = epoch
                    break
            first_fit = epochs_or_never(tracker.first_fit, p.max_epochs + 1)
            results.append(
                dict(
                    fraction=fraction,
                    epochs_to_fit=epochs_to_fit,
                    train_accuracy=train_accuracy,
                    test_accuracy=test_accuracy,
                    median_first_fit_epoch=first_fit.median().item(),
                )
            )

    if shard.partial:
        return len(results), steps, None
    by_fraction = {}
    for fraction in p.random_fractions:
        rows = [r for r in results if r["fraction"] == fraction]
        by_fraction[str(fraction)] = dict(
            epochs_to_fit=mean([r["epochs_to_fit"] for r in rows]),
            train_accuracy=mean([r["train_accuracy"] for r in rows]),
            test_accuracy=mean([r["test_accuracy"] for r in rows]),
            median_first_fit_epoch=mean([r["median_first_fit_epoch"] for r in rows]),
        )
    return len(results), steps, by_fraction


# ---------------------------------------------------------------- weight-init


def layer_signals(model, x, y):
    """Per layer (hidden, then logits): RMS of its output, and of each example's loss gradient at its pre-activation."""
    activations, pre_activations = [], []
    for layer in model:
        x = layer(x)
        if isinstance(layer, nn.Linear):
            x.retain_grad()
            pre_activations.append(x)
        if isinstance(layer, nn.ReLU) or layer is model[-1]:
            activations.append(x)
    F.cross_entropy(x, y, reduction="sum").backward()  # summed: each row's gradient is its own example's
    model.zero_grad()
    rms = lambda t: t.detach().pow(2).mean().sqrt().item()
    return [rms(a) for a in activations], [rms(p.grad) for p in pre_activations]


def log2_slope_per_layer(values):
    """Least-squares slope of log2(value) against layer index; None for one layer or a vanished/overflowed value."""
    if len(values) < 2 or not all(0 < v < math.inf for v in values):
        return None
    return statistics.linear_regression(range(len(values)), [math.log2(v) for v in values]).slope


def weight_init(p, shard):
    torch.manual_seed(0)  # one task and training set for every network
    centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
    x_train, y_train = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
    probe_x, probe_y = x_train[: p.probe_size], y_train[: p.probe_size]
    results, steps = [], 0
    for depth in p.depths:
        for gain in p.gains:
            if not shard.take():
                continue
            torch.manual_seed(depth)  # at one depth every gain scales the same He draw and visits the same order
            model = mlp(p.input_dim, [p.width] * depth, p.classes)
            with torch.no_grad():
                for layer in model:
                    if isinstance(layer, nn.Linear):
                        layer.weight.mul_(gain)
            activation_rms, gradient_rms = layer_signals(model, probe_x, probe_y)
            optimizer = torch.optim.SGD(model.parameters(), lr=p.learning_rate)
            for _ in range(p.epochs):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.cross_entropy)
                train_accuracy = accuracy(predict(model, x_train), y_train)
            results.append(
                dict(
                    depth=depth,
                    gain=gain,
                    trained=train_accuracy >= 1 / p.classes + p.trained_margin,
                    activation_slope=log2_slope_per_layer(activation_rms[:depth]),
                    gradient_slope=log2_slope_per_layer(gradient_rms[:depth]),
                )
            )

    if shard.partial:
        return len(results), steps, None
    by_depth = {}
    for depth in p.depths:
        trainable = [r["gain"] for r in results if r["depth"] == depth and r["trained"]]
        by_depth[str(depth)] = dict(window_octaves=math.log2(max(trainable) / min(trainable)) if trainable else None)
    deepest = [r for r in results if r["depth"] == max(p.depths)]

    def slope_per_octave(field):
        points = [(math.log2(r["gain"]), r[field]) for r in deepest if r[field] is not None]
        return statistics.linear_regression(*zip(*points)).slope if len(points) >= 2 else None

    headline = dict(by_depth=by_depth, activation_slope_per_octave=slope_per_octave("activation_slope"), gradient_slope_per_octave=slope_per_octave("gradient_slope"))
    return len(results), steps, headline


# ---------------------------------------------------------------- mode-connectivity


def forward_with(parameters, x):
    """The MLP whose linear layers hold `parameters` (weight, bias, ... as nn.Linear stores them), ReLU between."""
    for layer in range(0, len(parameters), 2):
        x = F.linear(x, parameters[layer], parameters[layer + 1])
        if layer + 2 < len(parameters):
            x = torch.relu(x)
    return x


def bezier(t, start, middle, end):
    return [(1 - t) ** 2 * a + 2 * t * (1 - t) * c + t**2 * b for a, c, b in zip(start, middle, end)]


def barrier_height(positions, losses):
    return max(loss - ((1 - t) * losses[0] + t * losses[-1]) for t, loss in zip(positions, losses))


def mode_connectivity(p, shard):
    torch.manual_seed(0)  # one task and data set for every configuration; only the networks' seeds differ
    centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
    x_train, y_train = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
    x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size)
    positions = [i / (p.path_points - 1) for i in range(p.path_points)]

    @torch.no_grad()
    def profile(path):
        points = [path(t) for t in positions]
        return [F.cross_entropy(forward_with(w, x_train), y_train).item() for w in points], [accuracy(forward_with(w, x_test).argmax(dim=1), y_test) for w in points]

    results, steps = [], 0
    for width in p.widths:
        for _ in range(p.pairs):
            if not shard.take():
                continue
            ends = []
            for _ in range(2):  # the two end points, from different seeds
                model = mlp(p.input_dim, [width] * p.depth, p.classes)
                optimizer = make_optimizer("adam", model, p.learning_rate)
                for _ in range(p.epochs):
                    steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.cross_entropy)
                ends.append([parameter.detach() for parameter in model.parameters()])
            start, end = ends
            middle = [((a + b) / 2).requires_grad_() for a, b in zip(start, end)]
            optimizer = torch.optim.Adam(middle, lr=p.learning_rate)
            for _ in range(p.curve_epochs):  # the curve's middle point, t uniform per batch
                order = torch.randperm(p.train_size)
                for first in range(0, p.train_size, p.batch_size):
                    idx = order[first : first + p.batch_size]
                    optimizer.zero_grad()
                    F.cross_entropy(forward_with(bezier(torch.rand(()).item(), start, middle, end), x_train[idx]), y_train[idx]).backward()
                    optimizer.step()
                    steps += 1
            line_loss, line_accuracy = profile(lambda t: [(1 - t) * a + t * b for a, b in zip(start, end)])
            curve_loss, curve_accuracy = profile(lambda t: bezier(t, start, middle, end))
            results.append(dict(width=width, linear=barrier_height(positions, line_loss), curve=barrier_height(positions, curve_loss), line_middle=min(line_accuracy)))

    if shard.partial:
        return len(results), steps, None
    by_width = {}
    for width in p.widths:
        rows = [r for r in results if r["width"] == width]
        by_width[str(width)] = dict(
            linear_barrier=mean([r["linear"] for r in rows]),
            curve_barrier=mean([r["curve"] for r in rows]),
            linear_lowest_test_accuracy=mean([r["line_middle"] for r in rows]),
        )
    return len(results), steps, by_width


# ---------------------------------------------------------------- random-features


def width_for_target(widths, accuracies, target):
    """The narrowest width whose accuracy reaches `target`; None if none does."""
    return next((width for width, value in zip(widths, accuracies) if value >= target), None)


def random_features(p, shard):
    torch.manual_seed(0)  # one task and data set for every configuration
    centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
    x_train, y_train = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
    x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size)

    accuracies, configurations, steps = {}, 0, 0
    for model_kind in ("random-features", "fully-trained"):
        accuracies[model_kind] = []
        for width in p.widths:
            if not shard.take():
                continue
            configurations += 1
            torch.manual_seed(width)  # the same initial weights for both models at this width
            model = mlp(p.input_dim, [width], p.classes)
            # Random features: the hidden layer keeps its random initial weights; only the readout trains.
            trained = model[2:] if model_kind == "random-features" else model
            optimizer = torch.optim.Adam(trained.parameters(), lr=p.learning_rate)
            for _ in range(p.epochs):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, F.cross_entropy)
                test_accuracy = accuracy(predict(model, x_test), y_test)
            accuracies[model_kind].append(test_accuracy)

    if shard.partial:
        return configurations, steps, None
    target = p.target_fraction * accuracies["fully-trained"][-1]
    by_width = {
        str(width): dict(random_features_accuracy=accuracies["random-features"][i], fully_trained_accuracy=accuracies["fully-trained"][i])
        for i, width in enumerate(p.widths)
    }
    headline = dict(
        by_width=by_width,
        target_accuracy=target,
        random_features_width_for_target=width_for_target(p.widths, accuracies["random-features"], target),
        fully_trained_width_for_target=width_for_target(p.widths, accuracies["fully-trained"], target),
    )
    return configurations, steps, headline


# ---------------------------------------------------------------- double-descent


def most_prominent_peak(values):
    """(index, prominence) of the interior point with the greatest topographic prominence; None if the curve has no interior peak."""
    best = None
    for i in range(1, len(values) - 1):
        bases = []
        for step in (-1, 1):
            lowest, j = values[i], i + step
            while 0 <= j < len(values) and values[j] <= values[i]:
                lowest, j = min(lowest, values[j]), j + step
            bases.append(lowest)
        prominence = values[i] - max(bases)
        if prominence > 0 and (best is None or prominence > best[1]):
            best = (i, prominence)
    return best


def peak_summary(sizes, parameters, test_errors, train_errors, test_losses):
    """Where one arm's test error peaks in one run (its most prominent peak), and its squared/cross-entropy loss's peak."""
    peak, loss_peak = most_prominent_peak(test_errors), most_prominent_peak(test_losses)
    return dict(
        test_error=test_errors,
        train_error=train_errors,
        peak_size=sizes[peak[0]] if peak else None,
        peak_parameters=parameters[peak[0]] if peak else None,
        peak_prominence=peak[1] if peak else 0,
        smallest_interpolating_size=next((size for size, error in zip(sizes, train_errors) if error == 0), None),
        loss_peak_prominence=loss_peak[1] if loss_peak else 0,
    )


def double_descent(p, shard):
    # One training set and test set for every model; the noisy run's labels are corrupted once.
    torch.manual_seed(0)
    centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
    x_train, y_clean = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
    x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size)
    labels = dict(clean=y_clean, noisy=corrupt_labels(y_clean, p.label_noise, p.classes)[0])
    headline = dict(threshold_parameters=p.train_size * p.classes, random_features={}, trained={})

    # Random features (Belkin et al.): fixed random ReLU features, a readout fitted by minimum-norm least squares
    # on one-hot targets, in float64 (gelsd: the least-squares fit below N = samples, the least-norm interpolant from it on).
    feature_weights = torch.randn(max(p.feature_counts), p.input_dim, dtype=torch.float64) / math.sqrt(p.input_dim)
    configurations = 0
    for run in ("clean", "noisy"):
        targets = F.one_hot(labels[run], p.classes).double()
        rows = []
        for features in p.feature_counts:
            if not shard.take():
                continue
            configurations += 1
            weights = feature_weights[:features]
            train_features, test_features = torch.relu(x_train.double() @ weights.T), torch.relu(x_test.double() @ weights.T)
            readout = torch.linalg.lstsq(train_features, targets, driver="gelsd").solution
            test_outputs = test_features @ readout
            rows.append(
                dict(
                    train_error=1 - accuracy((train_features @ readout).argmax(dim=1), labels[run]),
                    test_error=1 - accuracy(test_outputs.argmax(dim=1), y_test),
                    test_loss=F.mse_loss(test_outputs, F.one_hot(y_test, p.classes).double()).item(),
                )
            )
        if not shard.partial:
            headline["random_features"][run] = peak_summary(
                p.feature_counts, [features * p.classes for features in p.feature_counts], *([r[k] for r in rows] for k in ("test_error", "train_error", "test_loss"))
            )

    # Fully trained networks (Nakkiran et al.): Adam, every epoch to the end, no early stopping or regularisation.
    def one_hot_mse(outputs, y):
        return F.mse_loss(outputs, F.one_hot(y, p.classes).float())

    loss_fn = one_hot_mse if p.loss == "mse" else F.cross_entropy

    results, steps = [], 0
    for width in p.widths:
        for run in ("clean", "noisy"):
            if not shard.take():
                continue
            y_train = labels[run]
            model = mlp(p.input_dim, [width], p.classes)
            optimizer = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
            # Errors every `evaluate_every` epochs.
            for epoch in range(1, p.epochs + 1):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(p.train_size), p.batch_size, loss_fn)
                if epoch % p.evaluate_every == 0 or epoch == p.epochs:
                    train_error = 1 - accuracy(predict(model, x_train), y_train)
                    test_error = 1 - accuracy(predict(model, x_test), y_test)
                    with torch.no_grad():
                        test_loss = loss_fn(model(x_test), y_test).item()
            parameters = sum(t.numel() for t in model.parameters())
            results.append(dict(width=width, run=run, parameters=parameters, train_error=train_error, test_error=test_error, test_loss=test_loss))

    if shard.partial:
        return configurations + len(results), steps, None
    for run in ("clean", "noisy"):
        rows = [r for r in results if r["run"] == run]
        headline["trained"][run] = peak_summary(p.widths, *([r[k] for r in rows] for k in ("parameters", "test_error", "train_error", "test_loss")))
    return configurations + len(results), steps, headline


# ---------------------------------------------------------------- critical-batch-size


def evaluation_steps(max_steps, growth):
    """Steps 1, 2, … up to max_steps, each at least `growth` times the last (rounded up): when the loss is evaluated."""
    steps, step = [], 1
    while step < max_steps:
        steps.append(step)
        step = max(step + 1, math.ceil(step * growth))
    return steps + [max_steps]


def steps_to_target(points, target):
    """Where a [(step, loss)] curve first reaches target, interpolated linearly from the evaluation before; None if never."""
    for i, (step, loss) in enumerate(points):
        if loss <= target:
            if i == 0:
                return step
            previous_step, previous_loss = points[i - 1]
            return previous_step + (step - previous_step) * (previous_loss - target) / (previous_loss - loss)
    return None


def fit_steps_tradeoff(points, grid=2000):
    """S(B) = S_min(1 + B_crit/B) by least squares in log S: B_crit on a log grid, S_min closed-form for each."""
    lowest, highest = min(b for b, _ in points) / 100, max(b for b, _ in points) * 100
    best = None
    for i in range(grid + 1):
        critical = lowest * (highest / lowest) ** (i / grid)
        shape = [math.log(s) - math.log(1 + critical / b) for b, s in points]
        log_min = statistics.fmean(shape)
        error = math.sqrt(statistics.fmean([(v - log_min) ** 2 for v in shape]))
        if best is None or error < best["rms_log_error"]:
            best = dict(min_steps=math.exp(log_min), critical_batch_size=critical, rms_log_error=error)
    return best


def simple_noise_scale(model, x, y, batch_sizes, draws):
    """B_simple = tr(Σ)/|G|² from mean squared minibatch-gradient norms at two batch sizes (rows drawn with replacement)."""
    norms = []
    for batch in batch_sizes:
        total = 0.0
        for _ in range(draws):
            idx = torch.randint(len(x), (batch,))
            model.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            total += sum(parameter.grad.pow(2).sum().item() for parameter in model.parameters())
        norms.append(total / draws)
    (small, big), (small_norm, big_norm) = batch_sizes, norms
    gradient_squared = (big * big_norm - small * small_norm) / (big - small)
    trace = (small_norm - big_norm) / (1 / small - 1 / big)
    return trace / gradient_squared if gradient_squared > 0 else None


def critical_batch_size(p, shard):
    torch.manual_seed(0)  # one task and training set; the loss is tracked on its first loss_set_size examples
    centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
    x_train, y_train = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
    x_loss, y_loss = x_train[: p.loss_set_size], y_train[: p.loss_set_size]
    initial = mlp(p.input_dim, p.hidden, p.classes)  # every run starts from this initialisation
    at_init = simple_noise_scale(copy.deepcopy(initial), x_train, y_train, p.noise_scale_batch_sizes, p.noise_scale_draws)

    @torch.no_grad()
    def loss_of(model):
        return F.cross_entropy(model(x_loss), y_loss).item()

    by_batch, steps = {}, 0
    for batch in p.batch_sizes + [p.train_size]:
        if not shard.take():
            continue
        # One network per learning rate, all seeing the same batches; the loss is evaluated on a geometric
        # schedule and every rate stops once the fastest reaches the target (or all have diverged).
        models = [copy.deepcopy(initial) for _ in p.learning_rates]
        optimizers = [torch.optim.SGD(model.parameters(), lr=lr) for model, lr in zip(models, p.learning_rates)]
        curves = [[(0, loss_of(initial))] for _ in models]
        training = [True] * len(models)
        batches, done, winner = index_rounds(p.train_size, batch), 0, None
        for evaluation in evaluation_steps(min(p.max_steps, math.ceil(p.max_examples / batch)), p.evaluation_growth):
            for _ in range(evaluation - done):
                idx = next(batches)
                for model, optimizer, active in zip(models, optimizers, training):
                    if active:
                        optimizer.zero_grad()
                        F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
                        optimizer.step()
                        steps += 1
            done = evaluation
            for i, model in enumerate(models):
                if training[i]:
                    curves[i].append((evaluation, loss_of(model)))
                    training[i] = math.isfinite(curves[i][-1][1])
            reached = [i for i in range(len(models)) if training[i] and curves[i][-1][1] <= p.target_loss]
            if reached:
                winner = min(reached, key=lambda i: steps_to_target(curves[i], p.target_loss))
                break
            if not any(training):
                break
        by_batch[batch] = (
            dict(
                steps_to_target=steps_to_target(curves[winner], p.target_loss),
                best_learning_rate=p.learning_rates[winner],
                noise_scale_at_target=simple_noise_scale(models[winner], x_train, y_train, p.noise_scale_batch_sizes, p.noise_scale_draws),
            )
            if winner is not None
            else dict(steps_to_target=None)
        )

    if shard.partial:
        return len(by_batch) * len(p.learning_rates), steps, None
    fit = fit_steps_tradeoff([(b, by_batch[b]["steps_to_target"]) for b in p.batch_sizes if by_batch[b]["steps_to_target"] is not None])
    at_target = [by_batch[b].get("noise_scale_at_target") for b in p.batch_sizes]
    at_target = [v for v in at_target if v is not None and v > 0]
    headline = dict(
        steps_to_target={str(b): r["steps_to_target"] for b, r in by_batch.items()},
        critical_batch_size=fit["critical_batch_size"],
        min_steps=fit["min_steps"],
        full_batch_steps=by_batch[p.train_size]["steps_to_target"],
        simple_noise_scale_at_init=at_init,
        simple_noise_scale_at_target=math.exp(statistics.fmean([math.log(v) for v in at_target])) if at_target else None,
    )
    return len(by_batch) * len(p.learning_rates), steps, headline


# ---------------------------------------------------------------- lottery-ticket


def magnitude_prune(weight, mask, rate):
    """Removes the `rate` fraction (rounded) of the kept weights with the smallest magnitude."""
    kept = mask.nonzero(as_tuple=True)
    count = round(rate * len(kept[0]))
    pruned = mask.clone()
    if count:
        order = weight[kept].abs().argsort()[:count]
        pruned[tuple(index[order] for index in kept)] = 0
    return pruned


def random_mask_like(mask):
    random = torch.zeros(mask.numel())
    random[torch.randperm(mask.numel())[: int(mask.sum().item())]] = 1
    return random.view_as(mask)


def train_masked(model, masks, x, y, p):
    """Adam with the masked weights zeroed before training and after every step; returns the steps taken."""
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        for layer, mask in zip(linears, masks):
            layer.weight.mul_(mask)
    optimizer = make_optimizer("adam", model, p.learning_rate)
    steps = 0
    for _ in range(p.epochs):
        order = torch.randperm(p.train_size)
        for start in range(0, p.train_size, p.batch_size):
            idx = order[start : start + p.batch_size]
            optimizer.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()
            with torch.no_grad():
                for layer, mask in zip(linears, masks):
                    layer.weight.mul_(mask)
            steps += 1
    return steps


def lottery_ticket(p, shard):
    steps = 0
    curves = []
    for _ in range(p.replicates):  # each replicate its own task, data and initialisation
        if not shard.take():
            continue
        centres = cluster_centres(p.input_dim, p.classes, p.clusters_per_class, p.separation)
        x_train, y_train = sample_clusters(centres, p.classes, p.clusters_per_class, p.train_size)
        x_test, y_test = sample_clusters(centres, p.classes, p.clusters_per_class, p.test_size)
        original, reinitialised = (mlp(p.input_dim, p.hidden, p.classes) for _ in range(2))

        def trained(initial, masks):
            nonlocal steps
            model = mlp(p.input_dim, p.hidden, p.classes)
            model.load_state_dict(initial.state_dict())
            steps += train_masked(model, masks, x_train, y_train, p)
            return model, accuracy(predict(model, x_test), y_test)

        masks = [torch.ones_like(layer.weight) for layer in original if isinstance(layer, nn.Linear)]
        ticket, dense = trained(original, masks)
        rows = []
        for _ in range(p.rounds):
            linears = [layer for layer in ticket if isinstance(layer, nn.Linear)]
            rates = [p.prune_rate] * (len(linears) - 1) + [p.output_prune_rate]
            masks = [magnitude_prune(layer.weight.detach(), mask, rate) for layer, mask, rate in zip(linears, masks, rates)]
            ticket, ticket_accuracy = trained(original, masks)
            _, reinit_accuracy = trained(reinitialised, masks)
            _, random_accuracy = trained(original, [random_mask_like(mask) for mask in masks])
            kept = sum(mask.sum().item() for mask in masks) / sum(mask.numel() for mask in masks)
            rows.append(dict(weights_kept=kept, ticket=ticket_accuracy, reinit=reinit_accuracy, random_mask=random_accuracy, dense=dense))
        curves.append(rows)
    if shard.partial:
        return len(curves) * (1 + 3 * p.rounds), steps, None
    by_round = [{field: mean([rows[r][field] for rows in curves]) for field in curves[0][r]} for r in range(p.rounds)]
    return len(curves) * (1 + 3 * p.rounds), steps, dict(sparsest=by_round[-1], by_round=by_round)


# ---------------------------------------------------------------- optimizer-comparison


# lib/optimizer.ts's kinds as torch.optim builds them.
TORCH_OPTIMIZERS = {
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


def optimizer_comparison_task(name, p):
    """The task's (train, validation, test) sets, outputs, loss and score (lower is better), as optimizer-comparison.ts draws them."""
    if name == "teacher":
        weights = torch.randn(16, 8) / math.sqrt(8)
        readout = torch.randn(16) / math.sqrt(16 * RELU_VARIANCE)
        sets = [sample_teacher(weights, readout, size, noise) for size, noise in [(p.train_size, 0.3), (p.validation_size, 0.0), (p.test_size, 0.0)]]
        return sets, 1, F.mse_loss, mse
    input_dim, classes, clusters, separation, train_size = (200, 2, 1, 0.1, p.few_examples) if name == "few-examples" else (20, 10, 2, 0.8, p.train_size)
    centres = cluster_centres(input_dim, classes, clusters, separation)
    sets = [sample_clusters(centres, classes, clusters, size) for size in (train_size, p.validation_size, p.test_size)]
    return sets, classes, F.cross_entropy, lambda model, x, y: 1 - accuracy(predict(model, x), y)


def optimizer_comparison(p, shard):
    # Every optimizer and learning rate of a task trains from replicate r's initial weights in replicate r's visit order.
    torch.manual_seed(0)
    factors = sorted(set(p.learning_rate_factors) | {1})
    configurations, steps, tuned = 0, 0, {}
    for task in p.tasks:
        (train, validation, test), output_dim, loss_fn, score = optimizer_comparison_task(task, p)
        initial = [mlp(train[0].shape[1], p.hidden, output_dim).state_dict() for _ in range(p.replicates)]
        orders = [[torch.randperm(len(train[0])) for _ in range(p.epochs)] for _ in range(p.replicates)]
        tuned[task] = {}
        for name in p.optimizers:
            if not shard.take():
                continue
            grid = []
            for factor in factors:
                lr = p.default_learning_rates[name] * factor
                validation_scores, test_scores = [], []
                for replicate in range(p.replicates):
                    model = mlp(train[0].shape[1], p.hidden, output_dim)
                    model.load_state_dict(initial[replicate])
                    optimizer = TORCH_OPTIMIZERS[name](model.parameters(), lr)
                    for epoch in range(p.epochs):
                        steps += train_epoch(model, optimizer, *train, orders[replicate][epoch], p.batch_size, loss_fn)
                        with torch.no_grad():
                            loss_fn(model(validation[0]), validation[1]).item()  # the per-epoch validation loss curve
                    validation_scores.append(score(model, *validation))
                    test_scores.append(score(model, *test))
                    configurations += 1
                grid.append((mean([v if math.isfinite(v) else math.inf for v in validation_scores]), lr, mean(test_scores)))
            _, lr, test_score = min(grid)
            tuned[task][name] = dict(learning_rate=lr, test=test_score)
    if shard.partial:
        return configurations, steps, None
    return configurations, steps, tuned


# ---------------------------------------------------------------- grokking


def grokking(p, shard):
    # Every pair (a, b) mod p as concatenated one-hot codes, labelled (a + b) mod p; replicate r's split and
    # initialisation are shared by every weight decay. Full-batch AdamW, accuracies measured every few steps.
    torch.manual_seed(0)
    a, b = torch.arange(p.modulus).repeat_interleave(p.modulus), torch.arange(p.modulus).repeat(p.modulus)
    x, y = torch.cat([F.one_hot(a, p.modulus), F.one_hot(b, p.modulus)], 1).float(), (a + b) % p.modulus
    train_rows = round(p.train_fraction * p.modulus**2)
    configurations, steps, delays = 0, 0, {}
    for replicate in range(p.replicates):
        order = torch.randperm(p.modulus**2)
        train, validation = order[:train_rows], order[train_rows:]
        initial = mlp(2 * p.modulus, [p.hidden], p.modulus).state_dict()
        for weight_decay in (p.weight_decay, 0.0):  # the finding, and the control without decay
            if not shard.take():
                continue
            model = mlp(2 * p.modulus, [p.hidden], p.modulus)
            model.load_state_dict(initial)
            optimizer = torch.optim.AdamW(model.parameters(), lr=p.learning_rate, weight_decay=weight_decay, eps=1e-7)
            reached = {"train": None, "validation": None}
            for step in range(1, p.steps + 1):
                optimizer.zero_grad()
                F.cross_entropy(model(x[train]), y[train]).backward()
                optimizer.step()
                steps += 1
                if step % p.steps_per_evaluation == 0:
                    predicted = predict(model, x)
                    for name, rows in (("train", train), ("validation", validation)):
                        if reached[name] is None and accuracy(predicted[rows], y[rows]) >= p.threshold:
                            reached[name] = step
            configurations += 1
            delay = None if None in reached.values() else reached["validation"] - reached["train"]
            delays.setdefault(str(weight_decay), []).append(dict(delay_steps=delay, **reached))
    if shard.partial:
        return configurations, steps, None
    return configurations, steps, delays


# ---------------------------------------------------------------- information-bottleneck


def bit_patterns(bits, teacher_hidden):
    """Every ±1 pattern of `bits` bits, labelled by a random ReLU teacher thresholded at its median (lib/data.ts bitPatternTask)."""
    x = torch.tensor([[1.0 if (row >> d) & 1 else -1.0 for d in range(bits)] for row in range(2**bits)])
    weights = torch.randn(teacher_hidden, bits) / math.sqrt(bits)
    readout = torch.randn(teacher_hidden) / math.sqrt(teacher_hidden * RELU_VARIANCE)
    output = (torch.relu(x @ weights.T) - RELU_MEAN) @ readout
    return x, (output >= output.sort().values[len(output) // 2]).long()


def log_spaced_epochs(epochs, evaluations):
    return sorted({round(math.exp(math.log(epochs) * (i + 1) / evaluations)) for i in range(evaluations)})


def binned_information(activations, labels, low, high, bins):
    """I(X;T) = H(T) and I(T;Y) for a layer's activations binned in `bins` equal-width bins over [low, high], in bits."""
    binned = ((activations - low) / (high - low) * bins).floor().clamp(0, bins - 1) if high > low else torch.zeros_like(activations)
    states = torch.unique(binned, dim=0, return_inverse=True)[1]

    def entropy(symbols):
        p = torch.unique(symbols, return_counts=True)[1].double() / len(symbols)
        return -(p * p.log2()).sum().item()

    h_t = entropy(states)
    return h_t, h_t + entropy(labels) - entropy(states * 2 + labels)


def information_bottleneck(p, shard):
    torch.manual_seed(0)
    x, y = bit_patterns(p.bits, p.teacher_hidden)
    order = torch.randperm(len(x))
    train_rows = order[: round(p.train_fraction * len(x))]
    x_train, y_train = x[train_rows], y[train_rows]
    evaluation_epochs = set(log_spaced_epochs(p.epochs, p.evaluations))
    estimators = [(f"fixed-{bins}", bins, "fixed") for bins in p.bin_counts] + [(f"adaptive-{p.bins}", p.bins, "per-epoch")]

    results, steps = [], 0
    for activation in ("tanh", "relu"):
        for _ in range(p.replicates):
            if not shard.take():
                continue
            layers, width = [], p.bits
            for h in p.hidden:
                layers += [he_uniform(nn.Linear(width, h)), nn.Tanh() if activation == "tanh" else nn.ReLU()]
                width = h
            model = nn.Sequential(*layers, he_uniform(nn.Linear(width, 2)))
            optimizer = torch.optim.Adam(model.parameters(), lr=p.learning_rate)

            def hidden_activations():
                with torch.no_grad():
                    outputs, t = [], x
                    for layer in model[:-1]:
                        t = layer(t)
                        if not isinstance(layer, nn.Linear):
                            outputs.append(t)
                    return outputs

            snapshots = [hidden_activations()]
            for epoch in range(1, p.epochs + 1):
                steps += train_epoch(model, optimizer, x_train, y_train, torch.randperm(len(x_train)), p.batch_size, F.cross_entropy)
                if epoch in evaluation_epochs:  # train and test accuracy (every pattern), then the hidden layers
                    accuracy(predict(model, x), y)
                    snapshots.append(hidden_activations())
            run_maximum = [max(snapshot[l].max().item() for snapshot in snapshots) for l in range(len(p.hidden))]
            late_compression = {}
            for name, bins, kind in estimators:
                compressions = []
                for l in range(len(p.hidden))[-p.late_layers :]:
                    trajectory = []
                    for snapshot in snapshots:
                        values = snapshot[l]
                        if kind == "per-epoch":
                            low, high = values.min().item(), values.max().item()
                        else:
                            low, high = (-1.0, 1.0) if activation == "tanh" else (0.0, run_maximum[l])
                        trajectory.append(binned_information(values, y, low, high, bins)[0])
                    compressions.append(max(trajectory) - trajectory[-1])
                late_compression[name] = mean(compressions)
            results.append(dict(activation=activation, late_compression=late_compression, test_accuracy=accuracy(predict(model, x[order[len(train_rows) :]]), y[order[len(train_rows) :]])))

    if shard.partial:
        return len(results), steps, None
    headline = {
        activation: dict(
            {name: mean([r["late_compression"][name] for r in results if r["activation"] == activation]) for name, _, _ in estimators},
            test_accuracy=mean([r["test_accuracy"] for r in results if r["activation"] == activation]),
        )
        for activation in ("tanh", "relu")
    }
    return len(results), steps, headline


# ---------------------------------------------------------------- main


EXPERIMENTS = {
    "curriculum-learning": curriculum_learning,
    "memorization-dynamics": memorization_dynamics,
    "micro-scaling-laws": micro_scaling_laws,
    "feature-competition": feature_competition,
    "representation-alignment": representation_alignment,
    "cellular-automata": cellular_automata,
    "emergence": emergence,
    "random-label-memorization": random_label_memorization,
    "weight-init": weight_init,
    "mode-connectivity": mode_connectivity,
    "random-features": random_features,
    "double-descent": double_descent,
    "critical-batch-size": critical_batch_size,
    "lottery-ticket": lottery_ticket,
    "optimizer-comparison": optimizer_comparison,
    "grokking": grokking,
    "information-bottleneck": information_bottleneck,
}


def shard_of(text):
    """--shard K/N: shard K (0-based) of N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 0 <= K < N")
    return Shard(int(index), int(count))


def snake_case(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def declared_params(declaration, quick):
    """The experiment's declared defaults (its real sweep), with its smoke preset over them for --quick; names in snake_case."""
    values = {param["name"]: param["default"] for param in declaration["params"]}
    if quick:
        values.update(declaration["presets"]["smoke"])
    return SimpleNamespace(**{snake_case(name): value for name, value in values.items()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--experiment", choices=list(EXPERIMENTS), help="run only this one (default: every one)")
    parser.add_argument("--quick", action="store_true", help="each experiment's smoke preset, for a smoke check")
    parser.add_argument("--shard", type=shard_of, default=Shard(), metavar="K/N", help="run only the configurations whose index is ≡ K mod N (one of N processes)")
    args = parser.parse_args()
    declarations = {declaration["name"]: declaration for declaration in json.load(sys.stdin)}
    torch.set_num_threads(args.threads)
    if args.shard.partial and not args.experiment:
        sys.exit("--shard splits one experiment's sweep: give --experiment")
    for name in [args.experiment] if args.experiment else EXPERIMENTS:
        if name not in declarations:
            sys.exit(f"{name}: not among the declared experiments on stdin (axiom list --json)")
        params = declared_params(declarations[name], args.quick)
        started_at, start = time.time(), time.perf_counter()
        configurations, steps, headline = EXPERIMENTS[name](params, args.shard)
        seconds = time.perf_counter() - start
        # startedAt/finishedAt (epoch seconds): the bench times N shards side by side from the first start to the last end.
        record = dict(experiment=name, wallSeconds=seconds, startedAt=started_at, finishedAt=started_at + seconds, threads=args.threads)
        print(
            json.dumps(dict(record, torch=torch.__version__, configurations=configurations, steps=steps, headline=headline)),
            flush=True,
        )
