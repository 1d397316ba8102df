"""The Learner: it learns, it is reproducible, it equals a hand-written PyTorch loop, and it turns
user mistakes into clear errors before any training step."""

import copy
import json
import math
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from learnable import losses
from learnable.models import MLP
from learnable.optim import OptimizerConfig
from learnable.train import Learner


def _classes(rows=96, features=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, features, generator=gen)
    y = (X[:, 0] - X[:, 1] > 0).long()
    return X, y


def _mlp(seed=0, features=4, outputs=2):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(features, 8), nn.ReLU(), nn.Linear(8, outputs))


def _learner(model=None, data=None, **options):
    settings = {"loss": "cross_entropy", "lr": 1e-2, "batch_size": 16, "validation": None, "progress": False}
    settings.update(device="cpu", **options)
    return Learner(_mlp() if model is None else model, _classes() if data is None else data, **settings)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---- it learns, reproducibly, exactly like plain PyTorch ---------------------------------------------
def test_learns_a_linearly_separable_problem():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(4, generator=gen)
    w = w / w.norm()
    X = torch.randn(1024, 4, generator=gen)
    X = X + torch.sign(X @ w)[:, None] * w  # a margin of 2 between the classes
    y = (X @ w > 0).long()
    model = nn.Linear(4, 2)
    nn.init.zeros_(model.weight)  # a model that knows nothing: chance accuracy
    nn.init.zeros_(model.bias)
    learner = Learner(
        model,
        (X, y),
        loss="cross_entropy",
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        validation=None,
        seed=0,
        progress=False,
    )
    learner.fit(10)
    accuracy = (learner.predict(X).argmax(1) == y).float().mean().item()
    assert accuracy > 0.95
    assert learner.history[-1]["train_loss"] < learner.history[0]["train_loss"] < math.log(2)


def test_same_seed_gives_bitwise_identical_weights():
    def run(seed):
        learner = Learner(
            _mlp(seed=5),
            _classes(),
            loss="cross_entropy",
            lr=1e-2,
            batch_size=16,
            validation=0.25,
            metrics=["accuracy"],
            seed=seed,
            progress=False,
            device="cpu",
        )
        return learner.fit(3)

    first, second, other = run(0), run(0), run(1)
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert first.history[-1]["val_loss"] == second.history[-1]["val_loss"]
    assert not torch.equal(first.model[0].weight, other.model[0].weight)  # the seed orders the batches


def test_training_equals_a_hand_written_pytorch_loop():
    X, y = _classes(rows=100)  # 7 batches of 16, the last one of 4
    seed, batch_size, lr = 3, 16, 1e-2
    model = _mlp(seed=1)
    twin = copy.deepcopy(model)
    Learner(
        model,
        (X, y),
        loss="cross_entropy",
        optimizer="adam",
        lr=lr,
        batch_size=batch_size,
        validation=None,
        seed=seed,
        progress=False,
        device="cpu",
    ).fit(2)

    optimizer = torch.optim.Adam(twin.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(2):
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), batch_size):
            rows = order[start : start + batch_size]
            loss = F.cross_entropy(twin(X[rows]), y[rows])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    for (name, ours), theirs in zip(model.named_parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5, msg=name)
    assert not torch.equal(model[0].weight, _mlp(seed=1)[0].weight)


def test_two_fits_of_one_epoch_equal_one_fit_of_two():
    once, twice = _learner(_mlp(seed=2)).fit(2), _learner(_mlp(seed=2)).fit(1).fit(1)
    for key, value in once.model.state_dict().items():
        assert torch.equal(value, twice.model.state_dict()[key]), key


def test_fit_twice_continues_the_epoch_count():
    learner = _learner(validation=0.2).fit(2)
    assert learner.epoch == 2
    learner.fit(3)
    assert learner.epoch == 5 and learner.num_epochs_planned == 5
    assert [record["epoch"] for record in learner.history] == [1, 2, 3, 4, 5]
    assert learner.step == 5 * 5  # 77 training rows in batches of 16


def test_fit_returns_the_learner_and_leaves_the_model_in_eval_mode():
    learner = _learner()
    assert learner.fit(1) is learner
    assert not learner.model.training


# ---- data and validation --------------------------------------------------------------------------
def test_validation_fraction_splits_the_rows_stratified():
    X, y = _classes(rows=100)
    learner = _learner(data=(X, y), validation=0.2)
    train_X, train_y = learner.train_loader.tensors
    val_X, val_y = next(iter(learner.val_loader))
    assert (len(train_X), len(val_X)) == (80, 20)
    # Together the two parts are the original rows, each exactly once.
    rows = torch.cat([train_X, val_X])
    assert sorted(rows[:, 0].tolist()) == sorted(X[:, 0].tolist())
    assert val_y.float().mean().item() == pytest.approx(y.float().mean().item(), abs=0.05)


def test_validation_fraction_for_regression_targets():
    X = torch.randn(50, 3)
    y = torch.randn(50)
    learner = _learner(nn.Linear(3, 1), (X, y), loss="mse", validation=0.3)
    assert (learner.train_loader.num_rows, learner.val_loader.num_rows) == (35, 15)


def test_validation_pair_is_used_as_given():
    X, y = _classes(rows=64)
    X_val, y_val = _classes(rows=30, seed=9)
    learner = _learner(data=(X, y), validation=(X_val.numpy(), y_val.numpy()))
    assert learner.train_loader.num_rows == 64
    val_X, val_y = next(iter(learner.val_loader))
    assert torch.equal(val_X, X_val) and torch.equal(val_y, y_val)


def test_validate_returns_the_loss_and_metrics_sklearn_computes():
    X_val, y_val = _classes(rows=150, seed=4)
    learner = _learner(validation=(X_val, y_val), metrics=["accuracy", "f1", "roc_auc", "log_loss"]).fit(2)
    results = learner.validate()
    assert set(results) == {"val_loss", "val_accuracy", "val_f1", "val_roc_auc", "val_log_loss"}
    with torch.no_grad():
        output = learner.model.eval()(X_val).double()
    probabilities = torch.softmax(output, 1).numpy()
    predicted = probabilities.argmax(1)
    assert results["val_loss"] == pytest.approx(skm.log_loss(y_val.numpy(), probabilities), rel=1e-5)
    assert results["val_log_loss"] == pytest.approx(results["val_loss"], rel=1e-6)
    assert results["val_accuracy"] == pytest.approx(skm.accuracy_score(y_val.numpy(), predicted))
    assert results["val_f1"] == pytest.approx(skm.f1_score(y_val.numpy(), predicted, average="macro"))
    assert results["val_roc_auc"] == pytest.approx(skm.roc_auc_score(y_val.numpy(), probabilities[:, 1]))
    assert learner.metrics["val_loss"] == results["val_loss"]


def test_validate_on_a_loader_weights_the_batches_by_their_rows():
    X_val, y_val = _classes(rows=45, seed=6)  # batches of 20, 20 and 5
    learner = _learner().fit(1)
    results = learner.validate(DataLoader(TensorDataset(X_val, y_val), batch_size=20))
    with torch.no_grad():
        expected = F.cross_entropy(learner.model.eval()(X_val), y_val).item()
    assert results["val_loss"] == pytest.approx(expected, rel=1e-5)


def test_validate_without_validation_data_is_a_clear_error():
    with pytest.raises(ValueError, match="there is no validation data; pass validation="):
        _learner().validate()


def test_validate_leaves_the_model_in_the_mode_it_found():
    learner = _learner(validation=_classes(rows=20, seed=1)).fit(1)
    assert not learner.model.training
    learner.validate()
    assert not learner.model.training


def test_a_torch_dataloader_over_a_tensor_dataset_works_as_data():
    X, y = _classes(rows=96)
    X_val, y_val = _classes(rows=40, seed=3)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    val_loader = DataLoader(TensorDataset(X_val, y_val), batch_size=16)
    learner = _learner(data=loader, validation=val_loader, metrics=["accuracy"], lr=5e-2).fit(5)
    assert learner.step == 5 * 6
    assert [r["epoch"] for r in learner.history] == [1, 2, 3, 4, 5]
    assert learner.history[-1]["train_loss"] < learner.history[0]["train_loss"]
    assert 0 <= learner.history[-1]["val_accuracy"] <= 1


def test_a_loader_with_a_validation_fraction_is_a_clear_error():
    loader = DataLoader(TensorDataset(*_classes()), batch_size=16)
    with pytest.raises(ValueError, match="a fraction can only be split off"):
        _learner(data=loader, validation=0.2)


# ---- predict and save -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tensor", "numpy", "loader"])
def test_predict_returns_cpu_outputs_of_the_right_shape(kind):
    X, y = _classes(rows=70)
    learner = Learner(_mlp(), (X, y), loss="cross_entropy", validation=None, progress=False)  # device "auto"
    inputs = {
        "tensor": X,
        "numpy": X.double().numpy(),  # float64 is turned into float32
        "loader": DataLoader(TensorDataset(X), batch_size=32),
    }[kind]
    output = learner.predict(inputs, batch_size=32) if kind != "loader" else learner.predict(inputs)
    assert output.device.type == "cpu" and output.dtype == torch.float32
    assert output.shape == (70, 2)
    with torch.no_grad():
        torch.testing.assert_close(output, learner.model.cpu().eval()(X))


def test_save_writes_safetensors_and_json_for_a_registered_model(tmp_path):
    model = MLP(in_features=4, out_features=2, hidden_sizes=[8])
    learner = _learner(model).fit(2)
    path = learner.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "model.safetensors"]
    info = json.loads((path / "model.json").read_text())
    assert info["model"]["name"] == "mlp"
    assert info["model"]["config"]["hidden_sizes"] == [8]
    assert [record["epoch"] for record in info["history"]] == [1, 2]
    weights = load_file(path / "model.safetensors")
    assert weights.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(weights[key], value)


def test_save_of_a_plain_torch_module_is_a_type_error(tmp_path):
    learner = _learner(nn.Linear(4, 2))
    with pytest.raises(TypeError, match="Linear is not a registered learnable model"):
        learner.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


# ---- losses and optimizers chosen for the user ------------------------------------------------------
@pytest.mark.parametrize(
    ("y", "outputs", "loss_class"),
    [
        (torch.randint(0, 3, (32,)), 3, losses.CrossEntropyLoss),
        (np.random.default_rng(0).integers(0, 3, 32), 3, losses.CrossEntropyLoss),
        (torch.randn(32), 1, losses.MSELoss),
        (np.random.default_rng(0).normal(size=32), 1, losses.MSELoss),  # float64
    ],
)
def test_auto_loss_is_cross_entropy_for_integer_targets_and_mse_for_real(y, outputs, loss_class):
    data = (torch.randn(32, 3), y)
    learner = Learner(nn.Linear(3, outputs), data, validation=None, progress=False, device="cpu")
    assert isinstance(learner.loss_fn, loss_class)
    assert learner.fit(1).epoch == 1


def test_optimizer_config_and_lr_override():
    learner = _learner(optimizer=OptimizerConfig("sgd", lr=0.5, momentum=0.9), lr=None).fit(1)
    assert type(learner.optimizer) is torch.optim.SGD
    assert learner.optimizer.param_groups[0]["lr"] == 0.5
    learner = _learner(optimizer=OptimizerConfig("sgd", lr=0.5, momentum=0.9), lr=0.01).fit(1)
    group = learner.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"]) == (0.01, 0.9)


def test_optimizer_may_be_a_callable():
    learner = _learner(optimizer=lambda params: torch.optim.RMSprop(params, lr=1e-3)).fit(1)
    assert type(learner.optimizer) is torch.optim.RMSprop


def test_optimizer_of_a_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="optimizer must be a name, an OptimizerConfig or a callable"):
        _learner(optimizer=3).fit(1)


# ---- user errors, raised before any training step ---------------------------------------------------
def test_a_model_that_is_not_a_module_is_a_type_error():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        Learner(lambda x: x, _classes(), progress=False)


def test_x_and_y_of_different_lengths():
    X, y = _classes(rows=20)
    with pytest.raises(ValueError, match="X has 20 rows but y has 19; expected one target per row"):
        _learner(data=(X, y[:19]))


@pytest.mark.parametrize("num_epochs", [0, -1, 1.5])
def test_num_epochs_must_be_a_positive_whole_number(num_epochs):
    learner = _learner()
    with pytest.raises(ValueError, match=r"num_epochs=.* must be a whole number >= 1"):
        learner.fit(num_epochs)


def _raises_before_training(learner, error, match):
    weights = _weights(learner.model)
    with pytest.raises(error, match=match):
        learner.fit(1)
    assert learner.step == 0
    for key, value in learner.model.state_dict().items():
        assert torch.equal(value, weights[key])


def test_cross_entropy_with_a_one_output_model():
    learner = _learner(_mlp(outputs=1))
    _raises_before_training(learner, ValueError, "cross_entropy needs one output per class.*bce_with_logits")


def test_cross_entropy_with_float_targets():
    X, y = _classes()
    _raises_before_training(_learner(data=(X, y.float())), ValueError, "needs integer class indices.*y.long()")


def test_class_index_out_of_range_for_the_model_outputs():
    X, y = _classes()
    y = y.clone()
    y[-1] = 3  # a class the first batches do not show, in the last row
    learner = _learner(data=(X, y))
    _raises_before_training(learner, ValueError, r"class indices from 0 to 3, but the model has 2 outputs")


def test_input_shape_mismatch_says_the_model_does_not_fit_the_data():
    learner = _learner(_mlp(features=5))  # the data has 4 features
    _raises_before_training(learner, ValueError, r"do not fit the data: input \(2, 4\).*PyTorch said")


def test_two_outputs_for_one_dimensional_regression_targets_do_not_fit():
    X = torch.randn(64, 3)
    learner = _learner(nn.Linear(3, 2), (X, X.sum(1)), loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's broadcasting warning
        _raises_before_training(learner, ValueError, "do not fit")


def test_int32_class_labels_are_accepted():
    X, y = _classes()
    learner = _learner(data=(X.numpy(), y.numpy().astype(np.int32)))
    assert learner.fit(1).epoch == 1


class _Swap:
    """Replaces every training batch's inputs with zeros and records what the model was given."""

    order = 0

    def __init__(self):
        self.seen = []

    def before_batch(self, learner):
        learner.xb = torch.zeros_like(learner.xb)

    def after_predict(self, learner):
        self.seen.append(learner.model.training)


def test_a_before_batch_callback_can_replace_the_training_batch_but_not_validation():
    swap, inputs = _Swap(), []
    model = _mlp()
    model.register_forward_pre_hook(lambda module, args: inputs.append((module.training, args[0].abs().sum().item())))
    X, y = _classes()
    _learner(model, (X, y), validation=(X, y), callbacks=[swap]).fit(1)
    assert swap.seen and all(swap.seen)
    assert all(total == 0 for training, total in inputs if training)  # every training batch was replaced
    assert any(total > 0 for training, total in inputs if not training)  # validation saw the real rows
