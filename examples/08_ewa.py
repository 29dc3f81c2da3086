# %% [markdown]
"""Exponentially weighted averages: v_t = beta * v_{t-1} + (1 - beta) * theta_t, from v_0 = 0.

The course's temperature example, with a year of daily temperatures generated here (a seasonal
curve plus day-to-day noise). beta averages roughly the last 1 / (1 - beta) days: 0.9 about 10
days, 0.98 about 50 (smoother, but lagging behind), 0.5 about 2 (noisy). Started at v_0 = 0 the
average is far too low for the first days; bias correction divides by 1 - beta^t to fix that.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, pyplot, save

BETAS = (0.9, 0.98, 0.5)
COLOURS = {0.9: "tab:red", 0.98: "tab:green", 0.5: "gold"}


# %%
def temperatures(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(noisy daily temperatures in degrees F, the seasonal curve without noise): about 40 F in
    January, 64 F in July, as in the lecture's London data."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    season = 52.0 - 12.0 * np.cos(2 * np.pi * (t - 15) / 365.0)
    return season + rng.normal(0.0, 5.0, days), season


# %%
def lag_days(smoothed: np.ndarray, truth: np.ndarray, max_lag: int = 90, skip: int = 100) -> int:
    """How many days `smoothed` runs behind `truth`: the shift that best aligns them."""
    errors = [np.mean((smoothed[skip:] - truth[skip - s:truth.size - s]) ** 2)
              for s in range(max_lag)]
    return int(np.argmin(errors))


# %%
def roughness(series: np.ndarray) -> float:
    """Mean absolute day-to-day change: how noisy a curve still is."""
    return float(np.mean(np.abs(np.diff(series))))


# %%
def run(out=None, seed: int = 0, quick: bool = False, days: int = 365) -> dict:
    out = output_dir("08_ewa", out)
    theta, season = temperatures(days, seed)
    corrected = {b: tc.ewa.ewa_series(theta, b, bias_correction=True) for b in BETAS}
    raw = {b: tc.ewa.ewa_series(theta, b, bias_correction=False) for b in BETAS}

    # The course's worked number: after two days with beta = 0.98, v_2 = 0.0196 theta_1 + 0.02
    # theta_2, far below either temperature; dividing by 1 - 0.98^2 = 0.0396 puts it back.
    avg = tc.EWA(0.98, bias_correction=True)
    avg.update(theta[0])
    avg.update(theta[1])

    first_week = slice(0, 7)
    findings = {
        "correction_after_2_steps": avg.correction,
        "window_days": {b: 1.0 / (1.0 - b) for b in BETAS},
        "roughness": {b: roughness(corrected[b]) for b in BETAS},
        "roughness_data": roughness(theta),
        "lag_days": {b: lag_days(corrected[b], season) for b in BETAS},
        "first_week_data": float(theta[first_week].mean()),
        "first_week_raw_0.98": float(raw[0.98][first_week].mean()),
        "first_week_corrected_0.98": float(corrected[0.98][first_week].mean()),
    }

    plt = pyplot()
    t = np.arange(1, days + 1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.scatter(t, theta, s=6, c="tab:blue", alpha=0.5, label="daily temperature")
    for b in BETAS:
        ax.plot(t, corrected[b], c=COLOURS[b], lw=2,
                label=f"beta = {b} (~{1 / (1 - b):.0f} days, lag {findings['lag_days'][b]} d)")
    ax.set(xlabel="day of the year", ylabel="temperature (F)",
           title="Exponentially weighted averages (bias-corrected)")
    ax.legend(loc="lower center", fontsize=8)
    fig.tight_layout()
    save(fig, out / "ewa_betas.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    early = slice(0, 120)
    ax.scatter(t[early], theta[early], s=8, c="tab:blue", alpha=0.5, label="daily temperature")
    ax.plot(t[early], raw[0.98][early], c="tab:purple", lw=2, label="beta = 0.98, no correction")
    ax.plot(t[early], corrected[0.98][early], c="tab:green", lw=2,
            label="beta = 0.98, divided by 1 - 0.98^t")
    ax.set(xlabel="day of the year", ylabel="temperature (F)", ylim=(0, None),
           title="Bias correction: v_0 = 0 drags the early average down")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save(fig, out / "ewa_bias_correction.png")
    findings["plots"] = ["ewa_betas.png", "ewa_bias_correction.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    print(f"after 2 steps with beta = 0.98 the correction factor is 1 - 0.98^2 = "
          f"{f['correction_after_2_steps']:.4f}")
    print(f"first week: the data average {f['first_week_data']:.1f} F; beta = 0.98 without "
          f"correction says {f['first_week_raw_0.98']:.1f} F, with correction "
          f"{f['first_week_corrected_0.98']:.1f} F")
    print(f"day-to-day change of the raw data: {f['roughness_data']:.2f} F")
    for b in BETAS:
        print(f"beta = {b}: averages ~{f['window_days'][b]:.0f} days, day-to-day change "
              f"{f['roughness'][b]:.2f} F, runs {f['lag_days'][b]} days behind the season")
    print("larger beta: smoother but later; smaller beta: quicker but noisier")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
