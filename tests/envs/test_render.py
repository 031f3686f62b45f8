"""Render modes of every task: rgb_array / ansi through gym.make and gym.make_vec, frames that
follow the state, the T-maze's pixels, errors for modes a task lacks, and RecordVideo."""

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import HumanRendering, RecordVideo, RenderCollection
from memory_gym_envs.render import (
    AGENT,
    BAND_GAP,
    BAR_HEIGHT,
    CELL,
    CUE_DOWN,
    CUE_UP,
    GOAL,
    MARGIN,
    MATERIAL_COLOURS,
    RENDER_FPS,
)

import memory_gym_envs
from memory_gym_envs import MemoryEnv, MemoryVectorEnv

# Short episodes (a few steps) so every task ends an episode quickly.
SMALL = {
    "DelayedCue": dict(num_cues=3, delay=3),
    "CopyMemory": dict(length=2, vocab_size=3, delay=3),
    "AssociativeRecall": dict(num_pairs=2, num_keys=3, num_values=3, delay=3, num_queries=2),
    "NBack": dict(n=2, vocab_size=3, length=8, success_threshold=0.5),
    "PermutedCopy": dict(length=2, vocab_size=3, delay=3),
    "TMazePassive": dict(corridor_length=4),
    "TMazeActive": dict(corridor_length=4),
    "MultiCueDelay": dict(num_cues=2, num_tokens=3, window=3, delay=3),
    "PatternBinding": dict(num_pairs=2, pattern_length=1, num_tokens=3, delay=3),
    "DistractorNavigation": dict(grid_size=3, episode_length=8, num_decoys=2),
}
TASKS = memory_gym_envs.list_tasks()
MODES = ["rgb_array", "ansi"]


def small(env_id):
    return SMALL[env_id.split("/")[1].rsplit("-v", 1)[0]]


def test_small_params_cover_every_task():
    assert sorted(SMALL) == sorted(i.split("/")[1].rsplit("-v", 1)[0] for i in TASKS)


def check_frame(frame, mode):
    if mode == "ansi":
        assert isinstance(frame, str) and "\n" not in frame and frame.startswith("t=")
    else:
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        assert frame.ndim == 3 and frame.shape[2] == 3
        assert frame.shape[0] % 2 == 0 and frame.shape[1] % 2 == 0  # video encoders need even sides


def same(a, b):
    return a == b if isinstance(a, str) else np.array_equal(a, b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", TASKS)
def test_gym_make_renders_the_state(env_id, mode):
    env = gym.make(env_id, render_mode=mode, **small(env_id))
    assert env.render_mode == mode
    env.reset(seed=3)
    first = env.render()
    check_frame(first, mode)
    assert same(first, env.render())  # rendering changes nothing
    action = env.unwrapped.oracle_action()
    env.step(action)
    second = env.render()
    check_frame(second, mode)
    assert not same(first, second)  # time (at least) moved on
    if mode == "ansi":
        assert first.startswith("t=0/") and "action=- reward=-" in first
        assert second.startswith("t=1/") and f"action={action} " in second
    else:
        assert first.shape == second.shape  # a video needs one frame size


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", TASKS)
def test_vector_rows_render_like_single_envs(env_id, mode):
    """Row i of make_vec seeded s renders what the single env seeded s + i renders, across
    episode ends (NEXT_STEP autoreset: the row's reset step shows the new episode, no action)."""
    n, seed = 3, 11
    envs = gym.make_vec(env_id, num_envs=n, render_mode=mode, **small(env_id))
    singles = [gym.make(env_id, render_mode=mode, **small(env_id)) for _ in range(n)]
    envs.reset(seed=seed)
    for i, env in enumerate(singles):
        env.reset(seed=seed + i)
    done = [False] * n
    rng = np.random.default_rng(0)
    for _ in range(12):
        actions = rng.integers(0, envs.single_action_space.n, n)
        envs.step(actions)
        for i, env in enumerate(singles):
            if done[i]:
                env.reset()
                done[i] = False
            else:
                _, _, term, trunc, _ = env.step(int(actions[i]))
                done[i] = term or trunc
        frames = envs.render()
        assert isinstance(frames, tuple) and len(frames) == n
        for i, env in enumerate(singles):
            check_frame(frames[i], mode)
            assert same(frames[i], env.render())
    assert envs.metadata["render_modes"] == MODES and envs.metadata["render_fps"] == RENDER_FPS


def test_same_step_vector_env_renders_each_row():
    envs = gym.make_vec(
        "MemoryGym/DelayedCue-v0",
        num_envs=2,
        render_mode="ansi",
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        num_cues=3,
        delay=0,
    )
    envs.reset(seed=0)
    envs.step(np.zeros(2, dtype=np.int64))
    frames = envs.render()
    assert [f.split()[0] for f in frames] == ["t=1/2", "t=1/2"]
    envs.step(np.zeros(2, dtype=np.int64))  # ends both episodes: the rows show their new ones
    assert all(f.startswith("t=0/2") and "action=-" in f for f in envs.render())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", TASKS)
def test_gymnasium_env_checker_accepts_render(env_id, mode):
    check_env(gym.make(env_id, render_mode=mode, **small(env_id)).unwrapped, skip_render_check=False)


def colour_cells(frame, material):
    """(ys, xs) of the pixels drawn in ``material``'s colour."""
    return np.nonzero((frame == MATERIAL_COLOURS[material]).all(axis=2))


def test_tmaze_pixels_show_agent_cue_and_goal_arm():
    length = 4
    env = gym.make("MemoryGym/TMazePassive-v0", render_mode="rgb_array", corridor_length=length)
    env.reset(seed=0)
    cue = int(env.unwrapped.task.cue[0])
    # Layout: time bar, observation strip (one line of 5 cells), then the maze (3 rows, small
    # enough for cells of 2 * CELL px); row 1 is the corridor, column p is position p.
    top = MARGIN + BAR_HEIGHT + BAND_GAP + (CELL - 1) + BAND_GAP
    pitch = 2 * CELL

    def cell(frame, row, col):
        return tuple(frame[top + row * pitch + pitch // 2, MARGIN + col * pitch + pitch // 2])

    frame = env.render()
    assert cell(frame, 1, 0) == tuple(MATERIAL_COLOURS[AGENT])  # the agent stands on the cue cell
    arm_row = 0 if cue == 0 else 2
    assert cell(frame, arm_row, length) == tuple(MATERIAL_COLOURS[GOAL])  # the cued arm
    assert cell(frame, 2 - arm_row, length) != tuple(MATERIAL_COLOURS[GOAL])
    xs_before = colour_cells(frame, AGENT)[1]
    env.step(0)  # RIGHT
    frame = env.render()
    xs_after = colour_cells(frame, AGENT)[1]
    assert xs_after.min() == xs_before.min() + pitch and len(xs_after) == len(xs_before)
    assert cell(frame, 1, 1) == tuple(MATERIAL_COLOURS[AGENT])
    # Off the cue cell, the cue still shows in the maze: the cell keeps the cue's colour.
    assert cell(frame, 1, 0) == tuple(MATERIAL_COLOURS[CUE_UP if cue == 0 else CUE_DOWN])
    env.step(1)  # LEFT: back
    assert cell(env.render(), 1, 0) == tuple(MATERIAL_COLOURS[AGENT])


def test_long_corridor_is_binned_and_keeps_the_agent():
    env = gym.make("MemoryGym/TMazePassive-v0", render_mode="rgb_array", corridor_length=500)
    env.reset(seed=0)
    width = env.render().shape[1]
    assert width < 600  # 501 cells binned, not 501 * CELL px
    for _ in range(100):  # bins of 8 cells: the agent stays drawn inside each bin
        env.step(0)
        assert len(colour_cells(env.render(), AGENT)[0]) > 0


def test_distractor_navigation_draws_grid_agent_and_goal():
    env = gym.make(
        "MemoryGym/DistractorNavigation-v0",
        render_mode="rgb_array",
        grid_size=3,
        episode_length=8,
        num_decoys=2,
    )
    env.reset(seed=1)
    task = env.unwrapped.task
    assert len(colour_cells(env.render(), AGENT)[0]) > 0
    env.step(0)  # step 0 shows the goal; the action is ignored
    for _ in range(4):  # walk to the goal; the agent's pixels follow its cell
        env.step(env.unwrapped.oracle_action())
    frame = env.render()
    ys, xs = colour_cells(frame, AGENT)
    top = MARGIN + BAR_HEIGHT + BAND_GAP + (CELL - 1) + BAND_GAP  # below time bar and obs strip
    pitch = 2 * CELL  # a 3 x 3 grid gets double-size cells
    assert ((xs.min() - MARGIN) // pitch, (ys.min() - top) // pitch) == (task.x[0], task.y[0])
    assert task.cell[0] == task.goal[0]  # the oracle arrived; the agent is drawn over the goal
    assert len(colour_cells(frame, GOAL)[0]) == 0


def test_render_mode_a_task_lacks():
    """Direct construction and make_vec refuse it with a ValueError naming the modes; gym.make
    does what gymnasium does for any env: 'human' gets its HumanRendering wrapper over our
    rgb_array frames, '<mode>_list' its RenderCollection, anything else reaches the env's error."""
    with pytest.raises(
        ValueError, match=r"render_mode must be one of \['rgb_array', 'ansi'\] or None, got 'human'"
    ):
        MemoryEnv("DelayedCue", render_mode="human")
    with pytest.raises(ValueError, match="got 'human'"):
        MemoryVectorEnv("DelayedCue", num_envs=2, render_mode="human")
    with pytest.raises(ValueError, match="got 'human'"):
        gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=2, render_mode="human")
    with (
        pytest.warns(UserWarning, match="not in the possible render_modes"),
        pytest.raises(ValueError, match="got 'bogus'"),
    ):
        gym.make("MemoryGym/DelayedCue-v0", render_mode="bogus")
    with pytest.warns(UserWarning, match="HumanRendering"):
        human = gym.make("MemoryGym/DelayedCue-v0", render_mode="human")
    assert isinstance(human, HumanRendering) and human.unwrapped.render_mode == "rgb_array"
    collected = gym.make("MemoryGym/DelayedCue-v0", render_mode="rgb_array_list", num_cues=3, delay=1)
    assert isinstance(collected, RenderCollection)
    collected.reset(seed=0)
    collected.step(0)
    assert len(collected.render()) == 2


def test_render_without_mode_warns_and_returns_none():
    env = gym.make("MemoryGym/DelayedCue-v0")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.unwrapped.render() is None
    envs = gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=2)
    envs.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert envs.render() is None


def test_metadata_declares_modes_and_fps():
    assert MemoryEnv.metadata == {"render_modes": MODES, "render_fps": RENDER_FPS}


@pytest.mark.parametrize("env_id", TASKS)
def test_record_video_writes_a_file(env_id, tmp_path):
    env = RecordVideo(
        gym.make(env_id, render_mode="rgb_array", **small(env_id)),
        str(tmp_path / "videos"),
        episode_trigger=lambda episode: True,
        disable_logger=True,
    )
    env.reset(seed=0)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(env.unwrapped.oracle_action())
        done = term or trunc
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0


def test_ansi_counts_down_the_extra_delay_of_a_delay_range():
    """A delay range holds the task's clock t for extra blank steps; the frame says how many remain."""
    env = gym.make("MemoryGym/DelayedCue-v0", render_mode="ansi", num_cues=3, delay=(2, 6))
    env.reset(seed=1)
    extra = int(env.unwrapped.task.extra_delay[0])
    assert extra >= 2 and f"extra_delay={extra} " in env.render()
    env.step(0)
    times = []
    for left in range(extra - 1, -1, -1):
        env.step(0)
        frame = env.render()
        times.append(frame.split()[0])
        assert ("extra_delay=" in frame) == (left > 0) and (left == 0 or f"extra_delay={left} " in frame)
    assert set(times) == {"t=1/4"}


def test_readme_record_a_video_example_runs(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Record a video") : readme.index("<!-- /section: envs -->")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README-record-a-video", "exec"), {})
    assert (tmp_path / "videos" / "rl-video-episode-0.mp4").stat().st_size > 0
    printed = capsys.readouterr().out.strip()
    assert printed and printed in code  # the ansi line quoted in the README's comment
    assert (Path(__file__).resolve().parents[2] / "docs" / "render_frame.png").stat().st_size > 0
