# %% [markdown]
"""Bias and variance: models of growing size on the same train/dev/test split, each diagnosed.

The course's "flower" (two classes in interleaved petals, with noise, so some points near the
centre cannot be told apart). Split 60/20/20 into train, dev and test, as the lecture advises
for a thousand examples. Human-level performance stands in for the Bayes error: here an expert
who knows the flower's shape and gives each point the class of the nearest noiseless petal.
Then the lecture's diagnosis, avoidable bias = train error - human-level, variance = dev error -
train error: logistic regression and a 2-unit network are too simple (high bias: bigger
network); 8 tanh units fit the petals (neither); three layers of 32 ReLUs trained without
regularization beat the expert on the training set by memorizing its noise, and lose on dev
(high variance: more data or regularization). The dev set picks the model; the test set, used
once, says how well it will do.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, probabilities, pyplot, save
from tinygrad_course import nn

# name -> (hidden layer sizes, hidden activation), smallest first.
MODELS = {"logistic regression": ((), None), "tiny: 2-2-1 tanh": ((2,), nn.Tanh),
          "medium: 2-8-1 tanh": ((8,), nn.Tanh), "big: 2-32-32-32-1 ReLU": ((32, 32, 32), nn.ReLU)}


# %%
def network(hidden: tuple[int, ...], activation: type[nn.Module] | None) -> nn.Sequential:
    """2 -> hidden... -> 1 logit; no hidden layer is logistic regression."""
    layers, n_in = [], 2
    for n in hidden:
        layers += [nn.Linear(n_in, n), activation()]
        n_in = n
    return nn.Sequential(*layers, nn.Linear(n_in, 1))


# %%
def human_level_error(X: np.ndarray, y: np.ndarray) -> float:
    """The error of an expert who knows the flower: each point gets the class of the nearest
    point on the noiseless petals (the data's own recipe with noise = 0)."""
    petals, petal_class = tc.data.make_planar_flower(4000, noise=0.0, seed=0)
    nearest = np.argmin(((X[:, None, :] - petals[None, :, :]) ** 2).sum(axis=2), axis=1)
    return float(np.mean(petal_class[nearest] != y))


# %%
def run(out=None, seed: int = 0, quick: bool = False, n_samples: int | None = None,
        epochs: int | None = None, lr: float | None = None) -> dict:
    out = output_dir("01_bias_variance", out)
    n_samples = n_samples or 1000
    # Quick: fewer steps, so a larger step size to get as far.
    epochs = epochs or (1000 if quick else 2000)
    lr = lr or (0.02 if quick else 0.01)
    X, y = tc.data.make_planar_flower(n_samples, noise=0.2, seed=seed)
    train, dev, test = tc.data.train_dev_test_split(X, y, dev=0.2, test=0.2, seed=seed,
                                                    stratify=True)
    # Human level is a property of the data: estimated on all the labelled data we compare with.
    human = human_level_error(np.concatenate([train[0], dev[0]]),
                              np.concatenate([train[1], dev[1]]))
    targets = train[1].reshape(-1, 1).astype(np.float32)

    findings: dict = {"sizes": {"train": len(train[1]), "dev": len(dev[1]), "test": len(test[1])},
                      "epochs": epochs, "lr": lr, "human_level_error": human, "models": {}}
    models = {}
    for name, (hidden, activation) in MODELS.items():
        tc.manual_seed(seed)
        model = network(hidden, activation)
        # The whole training set in every step (no mini-batch noise), Adam to get there fast.
        tc.fit(model, nn.F.binary_cross_entropy_with_logits,
               tc.optim.Adam(model.parameters(), lr=lr), (train[0], targets), epochs=epochs,
               batch_size=len(targets), shuffle=False, progress=False)
        d = tc.diagnostics.diagnose_model(model, train, dev, bayes_error=human)
        findings["models"][name] = {
            "parameters": sum(p.size for p in model.parameters()),
            "train_error": d.train_error, "dev_error": d.dev_error,
            "avoidable_bias": d.avoidable_bias, "variance": d.variance, "diagnosis": d.label,
            "recipe": list(d.recipe)}
        models[name] = model

    chosen = min(findings["models"], key=lambda n: findings["models"][n]["dev_error"])
    with tc.no_grad():
        test_accuracy = nn.F.accuracy(models[chosen](tc.Tensor(test[0])), test[1], threshold=0.0)
    findings["chosen"] = chosen
    findings["chosen_test_error"] = 1.0 - test_accuracy

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    names = list(MODELS)
    x = np.arange(len(names))
    for key, label in (("train_error", "train error"), ("dev_error", "dev error")):
        ax.plot(x, [findings["models"][n][key] for n in names], marker="o", label=label)
    ax.axhline(human, color="k", ls="--", lw=1, label=f"human level ({human:.1%})")
    for i, n in enumerate(names):
        top = max(findings["models"][n]["train_error"], findings["models"][n]["dev_error"])
        ax.annotate(findings["models"][n]["diagnosis"], (i, top),
                    textcoords="offset points", xytext=(0, 10), ha="center", fontsize=8)
    ax.set_xticks(x, [f"{n}\n({findings['models'][n]['parameters']} parameters)" for n in names],
                  fontsize=8)
    ax.set(yscale="log", ylim=(None, 1.0), ylabel="error (log scale)",
           title="Train and dev error by model size: bias falls, then variance rises")
    ax.minorticks_off()
    ax.set_yticks([0.02, 0.05, 0.1, 0.2, 0.5], ["2%", "5%", "10%", "20%", "50%"])
    ax.legend(fontsize=9)
    save(fig, out / "bias_variance_errors.png")

    fig, axes = plt.subplots(1, 4, figsize=(17, 4.4), layout="constrained")
    for ax, (name, model) in zip(axes, models.items()):
        r = findings["models"][name]
        tc.viz.plot_decision_boundary(probabilities(model), *train, ax=ax, margin=0.5,
                                      title=f"{name}\ntrain {r['train_error']:.1%}, dev "
                                            f"{r['dev_error']:.1%}: {r['diagnosis']}")
    fig.suptitle("Decision boundaries on the training set")
    save(fig, out / "bias_variance_boundaries.png")
    findings["plots"] = ["bias_variance_errors.png", "bias_variance_boundaries.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    s = f["sizes"]
    print(f"train/dev/test: {s['train']}/{s['dev']}/{s['test']} examples; human-level error "
          f"{f['human_level_error']:.1%}")
    print(f"{'model':>24}  {'train':>6}  {'dev':>6}  {'bias':>6}  {'var':>6}  diagnosis: recipe")
    for name, r in f["models"].items():
        print(f"{name:>24}  {r['train_error']:6.1%}  {r['dev_error']:6.1%}  "
              f"{r['avoidable_bias']:+6.1%}  {r['variance']:+6.1%}  {r['diagnosis']}: "
              f"{'; '.join(r['recipe']) or 'done'}")
    print(f"chosen on dev: {f['chosen']}; its test error, measured once: "
          f"{f['chosen_test_error']:.1%}")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
