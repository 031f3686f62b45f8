"""TrialReplayDQN: TD targets on replayed trials, BPTT chunking, collection state, save/load, learning."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from memory_agents.dqn import TrialReplayDQN, burn_in, q_sequence
from memory_agents.trial_buffer import TrialReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv

torch.set_num_threads(1)


class CueTrials(gym.Env):
    """Tiny trial env: a trial is a cue step (one-hot of 2), ``delay`` blank steps and a go step
    where action ``1 + cue`` is correct (reward 1). An episode is ``trials`` trials (terminated).
    Info follows the NeuroGym wrapper contract: new_trial, trial_index, gt, trial_correct.
    A memoryless policy is at chance (0.5): the go step looks the same for both cues."""

    def __init__(self, trials: int = 4, delays=(1, 2, 3)):
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.trials, self.delays = trials, delays

    def _new_trial(self):
        self.cue = int(self.np_random.integers(2))
        self.t = 0
        self.len = 2 + int(self.np_random.choice(self.delays))

    def _obs(self):
        o = np.zeros(3, np.float32)
        if self.t == 0:
            o[self.cue] = 1.0
        elif self.t == self.len - 1:
            o[2] = 1.0
        return o

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.k = 0
        self._new_trial()
        return self._obs(), {}

    def step(self, action):
        go = self.t == self.len - 1
        info = {"trial_index": self.k, "gt": 1 + self.cue if go else 0, "new_trial": go}
        reward = 0.0
        if go:
            info["trial_correct"] = int(action) == 1 + self.cue
            reward = float(info["trial_correct"])
            self.k += 1
            self._new_trial()
        else:
            self.t += 1
        return self._obs(), reward, self.k >= self.trials, False, info


def trial_accuracy(model, env, n_steps=1500, seed=123):
    """Greedy trial accuracy, memory carried with predict(state, episode_start)."""
    obs, _ = env.reset(seed=seed)
    state, start, correct = None, np.ones(1, bool), []
    for _ in range(n_steps):
        action, state = model.predict(obs[None], state, start, deterministic=True)
        obs, _, term, trunc, info = env.step(int(action[0]))
        start = np.array([term or trunc])
        if "trial_correct" in info:
            correct.append(info["trial_correct"])
        if term or trunc:
            obs, _ = env.reset()
    return float(np.mean(correct))


def small_model(core="gru", **kwargs):
    kwargs.setdefault("seed", 0)
    return TrialReplayDQN(
        "MemoryQPolicy", CueTrials(), policy_kwargs=dict(memory=core, hidden_dim=16), **kwargs
    )


def filled_buffer(model, n_steps=60):
    """Collect ``n_steps`` without training so the buffer holds trials from the current network."""
    model.gradient_steps = 0
    model.learn(n_steps)
    return model.replay_buffer


# ----------------------------------------------------------------------------- TD targets
@pytest.mark.parametrize("across", [False, True])
@pytest.mark.parametrize("core", ["gru", "mpn"])
def test_td_targets_use_next_step_of_same_trial_and_do_not_bootstrap_at_episode_end(core, across):
    model = small_model(core, gamma=0.9, bootstrap_across_trials=across)
    # perturb the target net so online and target differ (double DQN picks with online, values with target)
    with torch.no_grad():
        for p in model.policy.q_net_target.parameters():
            p.add_(0.3 * torch.randn_like(p))
    buf = filled_buffer(model)
    terminal = [t for t in buf.trials if t.terminal]
    middle = [t for t in buf.trials if not t.terminal]
    assert terminal and middle
    trials = [terminal[0], middle[0]]
    batch = TrialReplayBuffer.collate(trials)
    q, q_target, _ = model.replay_q(batch)
    targets = model.td_targets(batch, q, q_target)
    for b, trial in enumerate(trials):
        # reference: step the networks one observation at a time from the stored start state
        online, target = model.policy.q_net, model.policy.q_net_target
        s_on = tuple(torch.as_tensor(s)[None] for s in trial.start_state)
        s_tg = s_on
        qs_on, qs_tg = [], []
        with torch.no_grad():
            for o in trial.obs:
                q_on, s_on = online(torch.as_tensor(o)[None, None], s_on)
                q_tg, s_tg = target(torch.as_tensor(o)[None, None], s_tg)
                qs_on.append(q_on[0, 0])
                qs_tg.append(q_tg[0, 0])
        L = trial.length
        for t in range(L):
            nxt = qs_tg[t + 1][qs_on[t + 1].argmax()]
            # the last step bootstraps from the next trial only with bootstrap_across_trials
            boot = 0.0 if t == L - 1 and (trial.terminal or not across) else 1.0
            expected = trial.rewards[t] + 0.9 * boot * float(nxt)
            assert float(targets[t, b]) == pytest.approx(expected, abs=1e-5)
        if trial.terminal or not across:
            assert float(targets[L - 1, b]) == pytest.approx(float(trial.rewards[L - 1]), abs=0)
        torch.testing.assert_close(q[: L + 1, b].detach(), torch.stack(qs_on), atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- BPTT chunks
@pytest.mark.parametrize("core", ["gru", "mpn"])
def test_chunk_at_least_trial_length_gives_full_bptt_gradients(core):
    model = small_model(core)
    buf = filled_buffer(model)
    batch = buf.collate(list(buf.trials)[:4])
    T = batch.obs.shape[0]

    def grads(chunk):
        model.bptt_chunk_size = chunk
        model.policy.q_net.zero_grad()
        loss, _ = model.trial_loss(batch)
        loss.backward()
        return torch.cat([p.grad.flatten() for p in model.policy.q_net.parameters()])

    full = grads(None)
    for chunk in (T, T + 7):
        torch.testing.assert_close(grads(chunk), full, atol=1e-6, rtol=1e-5)
    truncated = grads(1)  # the chunking is real: cutting every step changes the gradients
    assert not torch.allclose(truncated, full, atol=1e-6)


def test_chunk_gates_are_per_call_and_survive_a_later_forward(graph_tensors_on):
    """q_sequence's gates (the gate penalty) come from its own calls: a later forward (acting,
    the target net) leaves them unchanged, and they still train the gate."""
    model = small_model("pseudo_memory")
    net = model.policy.q_net
    obs = torch.rand(6, 2, 3)
    _, _, gates = q_sequence(net, obs, net.initial_state(2), chunk_size=4)
    assert [g.shape for g in gates] == [(4, 2, 1), (2, 2, 1)]
    kept = [g.detach().clone() for g in gates]
    model.policy.predict(np.random.rand(2, 3).astype(np.float32), None, np.ones(2, bool))
    assert all(torch.equal(g.detach(), k) for g, k in zip(gates, kept))
    torch.cat([g.flatten() for g in gates]).mean().backward()
    assert net.core.gate.bias.grad.abs().sum() > 0
    assert graph_tensors_on(model.policy) == []


# ----------------------------------------------------------------------------- collection state
def test_memory_persists_within_episode_and_resets_at_episode_start():
    model = small_model("gru")
    buf = filled_buffer(model, n_steps=80)
    init = model.policy.initial_state(1)
    for trial in buf.trials:
        is_initial = all(np.allclose(s, i[0].numpy()) for s, i in zip(trial.start_state, init))
        assert is_initial == trial.episode_start
    assert_start_states_are_real(model, list(buf.trials))


def assert_start_states_are_real(model, trials):
    """Each stored start state is the state the network really had: replaying the previous trial
    from its start state (unchanged network) reaches the next trial's start state."""
    for prev, nxt in zip(trials[:-1], trials[1:]):
        if nxt.episode_start:
            continue
        state = tuple(torch.as_tensor(s)[None] for s in prev.start_state)
        with torch.no_grad():
            _, state = model.policy.q_net(torch.as_tensor(prev.obs[:-1])[:, None], state)
        for s, ref in zip(state, nxt.start_state):
            np.testing.assert_allclose(s[0].numpy(), ref, atol=1e-5)


def test_burn_in_refreshes_the_stored_state():
    model = small_model("mpn", burn_in=3)
    buf = filled_buffer(model, n_steps=80)
    trials = [t for t in buf.trials if len(t.prefix_obs) > 0][:4]
    assert trials
    batch = buf.collate(trials)
    state = burn_in(model.policy.q_net, batch.prefix_obs, batch.prefix_lengths, batch.prefix_state)
    for s, ref in zip(state, batch.start_state):
        torch.testing.assert_close(s, ref, atol=1e-5, rtol=1e-5)


def test_vectorised_collection_keeps_env_streams_apart():
    env = DummyVecEnv([lambda: CueTrials(), lambda: CueTrials(delays=(4,))])
    model = TrialReplayDQN(
        "MemoryQPolicy", env, policy_kwargs=dict(memory="gru", hidden_dim=8), seed=0, learning_starts=1
    )
    model.learn(120)
    lengths = {i: {t.length for t in model.replay_buffer.trials if t.env_index == i} for i in (0, 1)}
    assert lengths[0] <= {3, 4, 5} and lengths[1] == {6}
    # train_freq=1, gradient_steps=1: one gradient step per trial, also when both envs end one in the same step
    assert model._n_updates == model._num_trials == len(model.replay_buffer)


# ----------------------------------------------------------------------------- SB3 plumbing
def test_save_load_roundtrip_gives_identical_actions(tmp_path):
    model = small_model("mpn", learning_starts=2)
    model.learn(200)
    model.save(tmp_path / "dqn")
    loaded = TrialReplayDQN.load(tmp_path / "dqn", env=CueTrials())
    assert loaded.policy.memory == "mpn" and loaded.bptt_chunk_size == model.bptt_chunk_size
    env = CueTrials()
    obs, _ = env.reset(seed=5)
    s1 = s2 = None
    start = np.ones(1, bool)
    for _ in range(40):
        a1, s1 = model.predict(obs[None], s1, start, deterministic=True)
        a2, s2 = loaded.predict(obs[None], s2, start, deterministic=True)
        assert a1 == a2
        for x, y in zip(s1, s2):
            np.testing.assert_array_equal(x, y)
        obs, _, term, _, _ = env.step(int(a1[0]))
        start = np.array([term])
        if term:
            obs, _ = env.reset()
    loaded.learn(50)  # and it can keep training


def test_logger_records_trial_accuracy_and_callbacks_can_stop(tmp_path):
    model = small_model("gru", learning_starts=1)
    model.set_logger(configure(str(tmp_path), ["csv"]))

    class StopAt(BaseCallback):
        def _on_step(self):
            return self.num_timesteps < 100

    model.learn(1000, callback=StopAt(), log_interval=1)
    assert model.num_timesteps == 100
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert {"rollout/trial_accuracy", "rollout/exploration_rate", "train/loss"} <= set(header)


class CountingTrials(gym.Env):
    """Every observation the env shows carries its serial number (obs[0] * 1000), so a replayed
    step the env never took shows up as a gap or a repeat. Trials of 3 steps, episodes of 12."""

    observation_space = spaces.Box(0.0, 1e3, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self):
        self.count = -1

    def _obs(self):
        self.count += 1
        return np.array([self.count / 1000, 1.0], np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, self.t >= 12, False, {"new_trial": self.t % 3 == 0}


def test_learn_resumes_after_a_callback_stop_without_replaying_a_step():
    """The stopping step is committed (buffer, last obs, memory state), so the trial that spans the
    stop holds each observation the env showed once, in order, and memory continues from it."""
    model = TrialReplayDQN(
        "MemoryQPolicy",
        DummyVecEnv([CountingTrials]),
        policy_kwargs=dict(memory="gru", hidden_dim=8),
        seed=0,
        gradient_steps=0,
    )

    class StopAt(BaseCallback):
        def _on_step(self):
            return self.num_timesteps < 20  # mid-trial, mid-episode

    model.learn(1000, callback=StopAt())
    assert model.num_timesteps == 20
    model.learn(40, reset_num_timesteps=False)
    assert model.num_timesteps == 60
    trials = sorted(model.replay_buffer.trials, key=lambda t: t.serial)
    serials = [np.rint(t.obs[:, 0] * 1000).astype(int) for t in trials]
    for s in serials:
        assert np.all(np.diff(s) == 1), f"a trial skips or repeats an observation: {s}"
    acted = np.concatenate([s[:-1] for s in serials])
    assert len(acted) == 60 and len(set(acted.tolist())) == 60
    assert_start_states_are_real(model, trials)  # also the memory state carried across the stop


def test_evaluate_trial_accuracy_caps_the_steps_on_envs_without_trials():
    from memory_agents.dqn import evaluate_trial_accuracy

    model = small_model("gru", gradient_steps=0)
    acc = evaluate_trial_accuracy(model, CueTrials(), n_trials=10, seed=0)
    assert 0.0 <= acc <= 1.0

    class Unscored(gym.Wrapper):  # trials without scores, as every native MemoryGym task
        def step(self, action):
            obs, reward, term, trunc, info = self.env.step(action)
            info.pop("trial_correct", None)
            return obs, reward, term, trunc, info

    with pytest.raises(ValueError, match=r"0 of n_trials=5 .*trial_correct.*max_steps=50"):
        evaluate_trial_accuracy(model, Unscored(CueTrials()), n_trials=5, max_steps=50)
    with pytest.raises(ValueError, match="max_steps"):
        evaluate_trial_accuracy(model, CueTrials(), n_trials=5, max_steps=0)


def test_save_and_load_replay_buffer(tmp_path):
    model = small_model("gru")
    filled_buffer(model, n_steps=60)
    model.save_replay_buffer(tmp_path / "replay.pkl")
    other = small_model("gru")
    other.load_replay_buffer(tmp_path / "replay.pkl")
    assert [t.serial for t in other.replay_buffer.trials] == [t.serial for t in model.replay_buffer.trials]
    np.testing.assert_array_equal(other.replay_buffer.trials[0].obs, model.replay_buffer.trials[0].obs)
    import pickle

    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"not": "a buffer"}))
    with pytest.raises(ValueError, match="not a TrialReplayBuffer"):
        other.load_replay_buffer(tmp_path / "other.pkl")


def test_progress_bar_and_tensorboard_event_files(tmp_path):
    model = TrialReplayDQN(
        "MemoryQPolicy",
        CueTrials(),
        policy_kwargs=dict(memory="gru", hidden_dim=8),
        seed=0,
        learning_starts=1,
        tensorboard_log=str(tmp_path),
    )
    model.learn(150, progress_bar=True, log_interval=1)
    events = list(tmp_path.glob("TrialReplayDQN_1/events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_package_exports_and_neurogym_defaults():
    from memory_agents.cores.mpn import MPNCore

    import memory_agents

    assert (
        memory_agents.TrialReplayDQN is TrialReplayDQN
        and memory_agents.TrialReplayBuffer is TrialReplayBuffer
    )
    model = TrialReplayDQN("MemoryQPolicy", CueTrials())
    core = model.policy.q_net.core
    assert isinstance(core, MPNCore) and core.hidden_dim == 128 and core.plastic_bias
    # eta 1.0, not the 0.1: at 0.1 the Hebbian read-out is too weak to learn (README 'MPN eta')
    assert float(core.eta) == pytest.approx(1.0) and float(core.lambda_) == pytest.approx(0.95)
    assert core.input_dim == 3  # the observation as it is: the constant input is the core's plastic_bias
    # bounded Hebbian matrix (dqn.CORE_DEFAULTS); memory_kwargs override it
    assert core.m_bound == 1.0 and model.policy.memory_kwargs == {"m_bound": 1.0}
    free = TrialReplayDQN("MemoryQPolicy", CueTrials(), policy_kwargs=dict(memory_kwargs={"m_bound": None}))
    assert free.policy.q_net.core.m_bound is None and free.policy.q_net_target.core.m_bound is None
    gru = TrialReplayDQN("MemoryQPolicy", CueTrials(), policy_kwargs=dict(memory="gru"))
    assert gru.policy.memory_kwargs == {}
    assert (
        model.batch_size == 32 and model.buffer_size == 500 and model.exploration_rate == pytest.approx(0.3)
    )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(buffer_size=0), "buffer_size"),
        (dict(batch_size=0), "batch_size"),
        (dict(tau=0.0), "tau"),
        (dict(gamma=1.5), "gamma"),
        (dict(bptt_chunk_size=0), "bptt_chunk_size"),
        (dict(burn_in=-1), "burn_in"),
        (dict(replay_start_state="old"), "replay_start_state"),
        (dict(exploration_initial_eps=2.0), "exploration_initial_eps"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        small_model("gru", **kwargs)


def test_bootstrap_across_trials_must_be_a_bool():
    with pytest.raises(TypeError, match="bootstrap_across_trials"):
        small_model("gru", bootstrap_across_trials="yes")
    assert small_model("gru").bootstrap_across_trials is False


def test_exploration_starts_at_0_3_and_anneals():
    model = small_model("gru", exploration_fraction=0.5, exploration_final_eps=0.05, gradient_steps=0)
    assert model.exploration_rate == pytest.approx(0.3)
    model.learn(100)
    assert model.exploration_rate == pytest.approx(0.05)


# ----------------------------------------------------------------------------- learning
def test_gru_learns_cue_trials_above_chance():
    """Chance (memoryless) is 0.5; require >= 0.8 greedy trial accuracy (this run: 1.0; 0.75 at 5k steps)."""
    model = small_model("gru", learning_starts=10)
    model.learn(8000)
    assert trial_accuracy(model, CueTrials()) >= 0.8
