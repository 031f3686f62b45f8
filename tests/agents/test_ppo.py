"""MemoryPPO: stored states, exact BPTT in "full" mode, configuration errors, save/load/resume,
SB3 integration (callbacks, logger, evaluate_policy), truncation bootstrap, gate penalty."""

import numpy as np
import pytest
import torch
from memory_agents.cores import MemoryCore, register_core, registered_cores
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy

from memory_agents import MemoryActorCriticPolicy, MemoryPPO, make_vec_env

torch.set_num_threads(1)
CUE = "MemoryGym/DelayedCue-v0"


def cue_env(num_envs=4, seed=0, **params):
    params = {"num_cues": 3, "delay": 3, **params}
    return make_vec_env(CUE, num_envs=num_envs, seed=seed, env_kwargs=params)


def small_model(env=None, **kwargs):
    kwargs = {"n_steps": 16, "n_epochs": 1, "seed": 0, "policy_kwargs": dict(hidden_dim=16), **kwargs}
    return MemoryPPO("MemoryPolicy", env or cue_env(), **kwargs)


def collect(model):
    """One rollout into model.rollout_buffer; returns the recurrent state at its start."""
    callback = model._init_callback(None)
    start_state = tuple(s.clone() for s in model._last_memory_state)
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
    return start_state


def gru_step(core, x, h):
    """Hand-written GRU cell with the core's nn.GRU weights (layer 0)."""
    rnn = core.rnn
    gi = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0
    gh = h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def hand_states(model, start_state, obs, starts):
    """States before each step of the rollout (before that step's reset), stepping the
    hand-written GRU with resets."""
    core = model.policy.memory_core
    h = start_state[0][:, 0]
    states = []
    for t in range(obs.shape[0]):
        states.append(h)
        h = torch.where(starts[t].bool()[:, None], torch.zeros_like(h), h)
        h = gru_step(core, obs[t], h)  # FlattenExtractor: features are the observations
    return torch.stack(states), h


# ------------------------------------------------------------------ configuration errors
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(recurrent_mode="bogus"), "recurrent_mode must be one of .*got 'bogus'"),
        (dict(recurrent_mode="truncated", bptt_len=32), r"bptt_len must divide n_steps=16 .*got 32"),
        (dict(recurrent_mode="truncated", bptt_len=5), r"bptt_len must divide n_steps=16 .*got 5"),
        (
            dict(recurrent_mode="truncated", bptt_len=4, burn_in=5),
            r"burn_in must be in \[0, bptt_len=4\], got 5",
        ),
        (dict(recurrent_mode="full", bptt_len=4), "bptt_len is used only by recurrent_mode='truncated'"),
        (
            dict(batch_size=24),
            r"batch_size must be a multiple of the sequence length \(16 steps.*= 64, got 24",
        ),
        (dict(batch_size=48), r"batch_size .* divides n_steps \* n_envs = 64, got 48"),
        (dict(recurrent_mode="cached", batch_size=7), "divides n_steps \\* n_envs = 64, got 7"),
        (dict(n_steps=0), r"n_steps must be an integer in \[1, 2147483647\], got 0"),
        (dict(policy_kwargs=dict(memory="nope")), "unknown memory 'nope'; valid names: gru"),
    ],
)
def test_bad_configuration_raises_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_model(**kwargs)


# ------------------------------------------------------------------ stored states
@pytest.mark.parametrize(
    "mode, extra",
    [
        ("full", {}),
        ("cached", {}),
        ("truncated", dict(bptt_len=4)),
        ("truncated", dict(bptt_len=4, burn_in=2)),
    ],
)
def test_stored_states_are_the_rollout_states(mode, extra):
    """Each mode stores exactly the states it re-runs from, and the state carries across rollouts
    (episodes of length 5 straddle the 16-step rollouts)."""
    model = small_model(recurrent_mode=mode, **extra)
    model.learn(model.n_steps * model.n_envs)  # one rollout + update: the next one starts mid-episode
    prev_tail = None
    for rollout in range(2):
        start = collect(model)
        buf = model.rollout_buffer
        obs, starts = buf.observations, torch.as_tensor(buf.episode_starts)
        with torch.no_grad():
            expected, last = hand_states(model, start, obs, starts)
        assert not starts[0].all(), "the rollout should start mid-episode for some envs"
        stored = buf.states[0][:, :, 0]
        if mode == "full":
            torch.testing.assert_close(stored[0], expected[0])
        elif mode == "cached":
            torch.testing.assert_close(stored, expected)
        else:
            steps = buf.store_steps
            torch.testing.assert_close(stored, expected[steps])
            if extra.get("burn_in") and prev_tail is not None:
                torch.testing.assert_close(buf.tail_state[0][:, 0], prev_tail)
            prev_tail = expected[16 - 2] if extra.get("burn_in") else None
            # re-running each chunk's burn-in from its stored state lands on the chunk's true start state
            n_seq = buf.n_sequences
            batch = next(buf.get(n_seq, generator=torch.Generator().manual_seed(5)))
            perm = torch.randperm(n_seq, generator=torch.Generator().manual_seed(5))
            state = batch.states
            if batch.burn_in_observations is not None:
                with torch.no_grad():
                    advanced = model.policy.advance_state(
                        batch.burn_in_observations, state, batch.burn_in_episode_starts
                    )
                state = tuple(
                    torch.where(batch.burn_in_skip[:, None, None], s, a) for s, a in zip(state, advanced)
                )
            chunk, env = perm // model.n_envs, perm % model.n_envs
            # after learn()'s update, chunk 0's burn-in re-runs the previous rollout's tail with the
            # new weights, so only the second rollout (no update in between) is exact for chunk 0
            keep = chunk > 0 if rollout == 0 else torch.ones_like(chunk, dtype=torch.bool)
            torch.testing.assert_close(
                state[0][keep, 0], expected[chunk * 4, env][keep], rtol=1e-5, atol=1e-6
            )
        torch.testing.assert_close(model._last_memory_state[0][:, 0], last, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ exact BPTT
def test_full_mode_gradients_equal_hand_written_bptt():
    model = small_model(recurrent_mode="full", n_steps=12, ent_coef=0.01, vf_coef=0.7)
    model.learn(model.n_steps * model.n_envs)
    collect(model)
    buf = model.rollout_buffer
    batch = next(buf.get(model.n_envs))  # all 4 trajectories, shuffled
    policy = model.policy
    params = [p for p in policy.parameters()]

    policy.zero_grad()
    loss, _ = model._loss(batch, 0.2, None)
    loss.backward()
    got = [None if p.grad is None else p.grad.clone() for p in params]

    # hand-written: step the GRU one step at a time from the stored state, resetting at starts
    policy.zero_grad()
    h = batch.states[0][:, 0]
    logps, values, entropies = [], [], []
    for t in range(batch.observations.shape[0]):
        h = torch.where(batch.episode_starts[t].bool()[:, None], torch.zeros_like(h), h)
        h = gru_step(policy.memory_core, batch.observations[t], h)
        logits = policy.action_net(policy.mlp_extractor.policy_net(h))
        logp_all = torch.log_softmax(logits, -1)
        logps.append(logp_all.gather(1, batch.actions[t].long()[:, None])[:, 0])
        entropies.append(-(logp_all.exp() * logp_all).sum(-1))
        values.append(policy.value_net(policy.mlp_extractor.value_net(h))[:, 0])
    logp, value, entropy = torch.stack(logps), torch.stack(values), torch.stack(entropies)
    # before any update the re-run reproduces the rollout's log-probs: the stored state is right
    torch.testing.assert_close(logp.detach(), batch.old_log_prob, rtol=1e-5, atol=1e-5)
    adv = batch.advantages
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ratio = torch.exp(logp - batch.old_log_prob)
    pg = -torch.min(adv * ratio, adv * ratio.clamp(0.8, 1.2)).mean()
    hand_loss = pg - 0.01 * entropy.mean() + 0.7 * ((batch.returns - value) ** 2).mean()
    hand_loss.backward()
    torch.testing.assert_close(loss.detach(), hand_loss.detach(), rtol=1e-5, atol=1e-6)
    n_checked = 0
    for p, g in zip(params, got):
        if p.grad is None:
            assert g is None or g.abs().max() == 0
            continue
        torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-6)
        n_checked += 1
    assert n_checked >= 8  # GRU, MLP extractor and heads all receive gradients


# ------------------------------------------------------------------ modes train
@pytest.mark.parametrize(
    "mode, extra", [("full", {}), ("truncated", dict(bptt_len=8, burn_in=4)), ("cached", {})]
)
def test_every_mode_trains_on_an_easy_setting(mode, extra):
    """2 cues, delay 1: every mode must get well above chance (0.5) with finite losses."""
    env = cue_env(num_envs=16, num_cues=2, delay=1)
    model = MemoryPPO(
        "MemoryPolicy",
        env,
        recurrent_mode=mode,
        n_steps=32,
        batch_size=256,
        n_epochs=4,
        learning_rate=3e-3,
        seed=1,
        policy_kwargs=dict(hidden_dim=32),
        **extra,
    )
    losses = []

    class Record(BaseCallback):
        def _on_rollout_start(self):
            value = self.model.logger.name_to_value.get("train/loss")
            if value is not None:
                losses.append(value)

        def _on_step(self):
            return True

    model.learn(8_000, callback=Record())
    assert losses and np.isfinite(losses).all()
    success, _ = evaluate_policy(
        model, cue_env(num_envs=8, seed=99, num_cues=2, delay=1), n_eval_episodes=100, deterministic=True
    )
    assert success >= 0.85, f"{mode}: success {success}"


# ------------------------------------------------------------------ SB3 integration
def test_save_load_identical_actions_and_resume(tmp_path):
    env = cue_env()
    model = small_model(env, tensorboard_log=str(tmp_path / "tb"))
    model.learn(128)
    path = tmp_path / "model.zip"
    model.save(path)
    loaded = MemoryPPO.load(path, env=cue_env())
    assert isinstance(loaded.policy, MemoryActorCriticPolicy)
    for a, b in zip(model.policy.state_dict().values(), loaded.policy.state_dict().values()):
        torch.testing.assert_close(a, b)
    rng = np.random.default_rng(0)
    state_a = state_b = None
    starts = np.ones(4, bool)
    for _ in range(6):
        obs = rng.random((4, 5)).astype(np.float32)
        act_a, state_a = model.predict(obs, state_a, starts, deterministic=True)
        act_b, state_b = loaded.predict(obs, state_b, starts, deterministic=True)
        np.testing.assert_array_equal(act_a, act_b)
        for x, y in zip(state_a, state_b):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
        starts = np.zeros(4, bool)

    # resume training from the checkpoint: counters continue, parameters move
    before = [p.detach().clone() for p in loaded.policy.parameters()]
    loaded.learn(128, reset_num_timesteps=False)
    assert loaded.num_timesteps == model.num_timesteps + 128
    assert any(not torch.equal(a, b) for a, b in zip(before, loaded.policy.parameters()))
    assert list((tmp_path / "tb").glob("MemoryPPO_1/events.out.tfevents.*"))


def test_linear_learning_rate_text_decays_and_survives_save_load(tmp_path):
    """'lin_<start>' (rl-zoo's text schedule, for YAML / JSON settings) decays the optimizer's
    learning rate linearly over the run, and a saved agent keeps it."""
    model = small_model(learning_rate="lin_1e-2")
    lrs = []

    class Record(BaseCallback):
        def _on_rollout_start(self):
            lrs.append(self.model.policy.optimizer.param_groups[0]["lr"])

        def _on_step(self):
            return True

    model.learn(4 * 64, callback=Record())  # 4 rollouts of 4 envs x 16 steps
    # the lr of update k is set after rollout k: 1e-2 * (1 - k / 4)
    np.testing.assert_allclose(lrs[1:], [7.5e-3, 5e-3, 2.5e-3], rtol=1e-6)
    model.save(tmp_path / "m.zip")
    loaded = MemoryPPO.load(tmp_path / "m.zip")
    assert repr(loaded.learning_rate) == "lin_0.01" and loaded.lr_schedule(0.5) == pytest.approx(5e-3)
    with pytest.raises(ValueError, match=r"learning_rate must be a number or a linear schedule .*'lin_fast'"):
        small_model(learning_rate="lin_fast")


def test_logger_records_ppo_and_success_metrics():
    model = small_model(n_epochs=2)
    model.learn(3 * 64)
    logged = model.logger.name_to_value
    for key in (
        "train/approx_kl",
        "train/clip_fraction",
        "train/entropy_loss",
        "train/explained_variance",
        "train/value_loss",
        "train/policy_gradient_loss",
    ):
        assert key in logged and np.isfinite(logged[key]), key
    assert len(model.ep_success_buffer) > 0  # is_success from the env's episode ends
    assert len(model.ep_info_buffer) > 0


def test_callbacks_and_progress_bar_run(capsys):
    calls = []

    class Count(BaseCallback):
        def _on_step(self):
            calls.append(self.num_timesteps)
            return len(calls) < 20  # stop early: learn must honour it

    model = small_model()
    model.learn(10_000, callback=Count(), progress_bar=True)
    assert len(calls) == 20 and model.num_timesteps == 20 * 4


def test_evaluate_policy_uses_state_and_reaches_oracle_level_only_with_memory():
    """evaluate_policy passes state and episode_start; a model with random weights is near chance."""
    model = small_model()
    mean, _ = evaluate_policy(model, cue_env(num_envs=4, seed=5), n_eval_episodes=40)
    assert 0.0 <= mean <= 0.8


def test_truncated_episodes_bootstrap_from_terminal_value():
    """SB3 issue #633: a time-limit cut adds gamma * V(terminal obs) computed from the state
    after the last step, only for the truncated rows."""
    model = small_model(gamma=0.9)
    policy = model.policy
    state = tuple(torch.randn(4, *s) for s in policy.state_shapes())
    term = np.random.default_rng(0).random((4, 5)).astype(np.float32)
    infos = [
        {"terminal_observation": term[0], "TimeLimit.truncated": True},
        {},
        {"terminal_observation": term[2], "TimeLimit.truncated": False},
        {"terminal_observation": term[3], "TimeLimit.truncated": True},
    ]
    dones = np.array([True, False, True, True])
    rewards = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    out = model._bootstrap_truncated(rewards, dones, infos, state)
    with torch.no_grad():
        v = policy.predict_values(torch.as_tensor(term), state, torch.zeros(4)).flatten().numpy()
    np.testing.assert_allclose(out, [1.0 + 0.9 * v[0], 2.0, 3.0, 4.0 + 0.9 * v[3]], rtol=1e-6)
    np.testing.assert_array_equal(rewards, [1.0, 2.0, 3.0, 4.0])  # input not modified


# ------------------------------------------------------------------ gate penalty
if "test_gated" not in registered_cores():

    @register_core("test_gated")
    class GatedCore(MemoryCore):
        """Leaky integrator with a learned write gate: reports a "gate" reading like gated cores do."""

        def __init__(self, input_dim, hidden_dim):
            super().__init__(input_dim, hidden_dim)
            self.inp = torch.nn.Linear(input_dim, hidden_dim)
            self.gate_net = torch.nn.Linear(input_dim, 1)

        def state_shapes(self):
            return ((self.hidden_dim,),)

        def _forward(self, x, state, starts):
            y, state = self._forward_steps(x, state, starts)
            return y, state, {"gate": torch.sigmoid(self.gate_net(x))}

        def _step(self, x, state):
            g = torch.sigmoid(self.gate_net(x))
            h = (1 - g) * state[0] + g * torch.tanh(self.inp(x))
            return h, (h,)


def test_gate_penalty_is_added_logged_and_lowers_the_gate():
    def run(coef):
        model = small_model(
            gate_coef=coef,
            learning_rate=1e-2,
            n_epochs=4,
            policy_kwargs=dict(memory="test_gated", hidden_dim=8),
        )
        model.learn(640)
        return model

    plain, penalised = run(0.0), run(5.0)
    assert "train/gate_mean" in penalised.logger.name_to_value
    assert (
        penalised.logger.name_to_value["train/gate_mean"]
        < plain.logger.name_to_value["train/gate_mean"] - 0.05
    )
    batch = next(penalised.rollout_buffer.get(4))
    loss_with, stats = penalised._loss(batch, 0.2, None)
    penalised.gate_coef = 0.0
    loss_without, _ = penalised._loss(batch, 0.2, None)
    torch.testing.assert_close(loss_with - loss_without, 5.0 * stats["gate"], rtol=1e-5, atol=1e-6)


def test_gate_coef_must_be_non_negative():
    with pytest.raises(ValueError, match=r"gate_coef must be a finite number >= 0, got -1.0"):
        small_model(gate_coef=-1.0)


def test_pack_episodes_cuts_sequences_at_episode_starts():
    from memory_agents.rollout_buffer import SequenceSamples, pack_episodes

    T, M = 8, 2
    starts = torch.zeros(T, M)
    starts[3, 0] = 1  # env 0: segments [0,3) [3,8); env 1: [0,2) [2,4) [4,8)
    starts[2, 1] = starts[4, 1] = 1
    step = torch.arange(T * M, dtype=torch.float32).reshape(T, M)  # value = t * M + m
    batch = SequenceSamples(step[..., None], step, starts, step, step, step, step, (), None, None)
    state = (torch.tensor([[10.0], [20.0]]),)
    packed, packed_state = pack_episodes(batch, state)
    assert packed.observations.shape == (5, 5, 1)  # longest segment 5 steps, 5 segments
    mask = packed.mask
    assert mask.sum() == T * M
    # every original step appears exactly once among the valid entries, in time order per segment
    assert sorted(packed.actions[mask].tolist()) == list(range(T * M))
    first_steps = packed.actions[0].tolist()
    assert first_steps == [0.0, 6.0, 1.0, 5.0, 9.0]  # (t=0,m=0) (t=3,m=0) (t=0,m=1) (t=2,m=1) (t=4,m=1)
    assert packed.episode_starts[0].tolist() == [0.0, 1.0, 0.0, 1.0, 1.0]
    assert (packed.episode_starts[~mask] == 0).all()  # padding never resets
    assert packed_state[0].flatten().tolist() == [10.0, 10.0, 20.0, 20.0, 20.0]


@pytest.mark.gpu
@pytest.mark.parametrize("memory", ["gru", "mamba2"])
def test_trains_and_predicts_on_cuda(memory):
    model = small_model(device="cuda", policy_kwargs=dict(memory=memory, hidden_dim=32), n_epochs=2)
    model.learn(3 * 64)
    assert next(model.policy.parameters()).is_cuda
    assert np.isfinite(model.logger.name_to_value["train/loss"])
    actions, state = model.predict(np.zeros((4, 5), np.float32), episode_start=np.ones(4, bool))
    assert actions.shape == (4,) and all(isinstance(s, np.ndarray) for s in state)
