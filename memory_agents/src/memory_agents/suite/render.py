"""Render one episode of a saved agent: what it saw, did, earned, and what its memory did.

Panels over time: observation (heatmap), action, reward, then memory activity from the readings
each step's ``predict`` returns for the acting core (``cores.base.READINGS``): the write gate, the
read attention over slots and the core's norm, labelled with what it measures (output, state,
memory or written keys/values). A core that reports no readings gets the norm of each state
tensor instead, so every core shows something. The PNG is the whole episode; the GIF replays it
with a cursor and the future greyed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_GIF_FRAMES = 120


def record_episode(model, env, deterministic: bool = True) -> dict:
    """Run one episode on a 1-env VecEnv; return per-step arrays (obs, action, reward, memory).

    The agent acts through ``model.policy.predict`` (what ``model.predict`` calls, less DQN's
    epsilon exploration), which also returns the step's readings of the acting core."""
    from memory_agents.cores import NORM_READINGS

    memory_keys = ("gate", "attention", *NORM_READINGS)
    obs = env.reset()
    state, start = None, np.ones(1, dtype=bool)
    trace = {"obs": [], "action": [], "reward": [], **{k: [] for k in memory_keys}, "fallback": []}
    info = {}
    while True:
        trace["obs"].append(np.asarray(obs[0], dtype=np.float32).reshape(-1))
        action, state, readings = model.policy.predict(
            obs, state=state, episode_start=start, deterministic=deterministic, return_readings=True
        )
        for key, value in readings[0].items():
            if key in trace:
                trace[key].append(value[-1, 0].reshape(-1))
        trace["fallback"].append(np.array([float(np.linalg.norm(np.asarray(s)[0])) for s in (state or ())]))
        obs, reward, done, infos = env.step(action)
        trace["action"].append(int(np.asarray(action).reshape(-1)[0]))
        trace["reward"].append(float(np.asarray(reward).reshape(-1)[0]))
        start = np.asarray(done, dtype=bool)
        if done[0]:
            info = infos[0]
            break
    out = {k: np.array(v) for k, v in trace.items() if len(v)}
    out["n_actions"] = int(getattr(env.action_space, "n", 0)) or None
    out["success"] = bool(info.get("is_success", False))
    out["return"] = float(np.sum(trace["reward"]))
    shown = [k for k in memory_keys if k in out]
    out["memory_source"] = "readings: " + ", ".join(shown) if shown else "state tensor norms"
    return out


def _memory_panels(trace: dict) -> list[tuple[str, np.ndarray, str]]:
    """(title, data, kind) for each memory panel: kind 'line' (T,) / 'heat' (T, K)."""
    from memory_agents.cores import NORM_READINGS

    panels = []
    if "gate" in trace:
        g = trace["gate"]
        panels.append(
            ("write gate", g[:, 0], "line") if g.shape[1] == 1 else ("write gate (per unit)", g, "heat")
        )
    if "attention" in trace:
        panels.append(("read attention over slots", trace["attention"], "heat"))
    for key in NORM_READINGS:  # each labelled with what it is the norm of
        if key in trace:
            norm = trace[key]
            panels.append((key.replace("_", " "), norm[:, 0] if norm.ndim == 2 else norm, "line"))
    if not panels and "fallback" in trace and trace["fallback"].size:
        fb = trace["fallback"]
        panels.append(
            (
                "norm of state tensors",
                fb[:, 0] if fb.shape[1] == 1 else fb,
                "line" if fb.shape[1] == 1 else "heat",
            )
        )
    return panels


def draw_episode(trace: dict, title: str):
    """A matplotlib figure of the episode; returns (figure, list of time axes)."""
    from .plot import _matplotlib

    plt = _matplotlib()
    from matplotlib.ticker import MaxNLocator

    T = len(trace["action"])
    mem = _memory_panels(trace)
    heights = [2.0, 1.0, 1.0] + [1.4 if kind == "heat" else 1.0 for _, _, kind in mem]
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(9, 1.1 * sum(heights) + 0.8),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
    )
    t = np.arange(T)
    ax = axes[0]
    ax.imshow(
        trace["obs"].T,
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        extent=(-0.5, T - 0.5, trace["obs"].shape[1] - 0.5, -0.5),
    )
    ax.set_ylabel("observation")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax = axes[1]
    ax.step(t, trace["action"], where="mid", color="tab:blue", linewidth=0.8)
    ax.plot(t, trace["action"], "o", color="tab:blue", markersize=3)
    ax.set_ylabel("action")
    # integer ticks: every discrete action (or the range taken, without an action count), even a constant one
    n_actions = trace.get("n_actions")
    lo, hi = (0, n_actions - 1) if n_actions else (int(min(trace["action"])), int(max(trace["action"])))
    ticks = range(lo, hi + 1) if hi - lo < 10 else MaxNLocator(integer=True).tick_values(lo, hi)
    ax.set_yticks([int(v) for v in ticks if lo <= v <= hi])
    ax.set_ylim(lo - 0.5, hi + 0.5)
    ax = axes[2]
    ax.bar(
        t, trace["reward"], color=np.where(np.asarray(trace["reward"]) > 0, "tab:green", "tab:red"), width=0.8
    )
    ax.axhline(0, color="k", linewidth=0.5)
    ax.set_ylabel("reward")
    for ax, (name, data, kind) in zip(axes[3:], mem):
        if kind == "heat":
            ax.imshow(
                np.asarray(data).T,
                aspect="auto",
                interpolation="nearest",
                cmap="magma",
                extent=(-0.5, T - 0.5, data.shape[1] - 0.5, -0.5),
            )
        else:
            ax.plot(t, data, color="tab:purple")
        ax.set_ylabel(name, fontsize=8)
    axes[-1].set_xlabel("step")
    axes[-1].set_xlim(-0.5, T - 0.5)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig, list(axes)


def _gif_frames(fig, axes, T: int):
    """PIL frames of the drawn figure with a cursor at each (sub-sampled) step, future greyed."""
    from PIL import Image, ImageDraw

    fig.canvas.draw()
    base = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
    height = base.height
    boxes = [ax.get_window_extent() for ax in axes]
    steps = np.unique(np.linspace(0, T - 1, min(T, MAX_GIF_FRAMES)).round().astype(int))
    frames = []
    for step in steps:
        frame = base.copy()
        draw = ImageDraw.Draw(frame, "RGBA")
        for ax, box in zip(axes, boxes):
            x = ax.transData.transform((step + 0.5, 0))[0]
            top, bottom = height - box.y1, height - box.y0
            if x < box.x1:
                draw.rectangle([x, top, box.x1, bottom], fill=(255, 255, 255, 170))
            draw.line([x, top, x, bottom], fill=(220, 0, 0, 255), width=2)
        frames.append(frame)
    return frames


def render_episode(
    checkpoint,
    out,
    task: str | None = None,
    difficulty: str | None = None,
    seed: int = 0,
    device: str = "cpu",
    gif: bool = True,
    deterministic: bool = True,
    env_kwargs: dict | None = None,
) -> list[Path]:
    """Write ``<out>.png`` (and ``<out>.gif``) for one episode of the agent in ``checkpoint``: the
    first episode of the evaluation stream of ``seed``, on the training env unless ``task`` /
    ``difficulty`` / ``env_kwargs`` say otherwise (as ``memory-suite eval``)."""
    from .artifacts import check_spaces, eval_target, load_agent, make_env
    from .config import env_seeds
    from .plot import _matplotlib

    model, info = load_agent(checkpoint, device=device)
    target = eval_target(checkpoint, info, task, difficulty, env_kwargs)
    env = make_env(target, 1, env_seeds(seed).eval)
    try:
        check_spaces(model, env, target)
        trace = record_episode(model, env, deterministic)
    finally:
        env.close()
    core = info.get("core") or getattr(model.policy, "memory", "?")
    title = (
        f"{target['label']}, core {core}, seed {seed}: "
        f"{'success' if trace['success'] else 'failure'}, return {trace['return']:.2f}  [memory: {trace['memory_source']}]"
    )
    fig, axes = draw_episode(trace, title)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    png = out.with_suffix(".png")
    fig.savefig(png, dpi=100)
    paths = [png]
    if gif:
        frames = _gif_frames(fig, axes, len(trace["action"]))
        path = out.with_suffix(".gif")
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=120, loop=0)
        paths.append(path)
    _matplotlib().close(fig)
    return paths
