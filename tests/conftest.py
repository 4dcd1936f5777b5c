import shutil
from pathlib import Path

import pytest

from moderation import accel
from moderation.artifact import load
from moderation.moderator import Moderator
from moderation.rulebook import load_rulebook
from training.train import train

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny.jsonl"
TINY_CONFIG = FIXTURES / "tiny-config.toml"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test reads or writes the user's default model, rulebook or data folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MODERATION_MODEL", raising=False)
    monkeypatch.delenv("MODERATION_RULES", raising=False)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A model trained once per session on the tiny corpus, with a fixed seed."""
    path = tmp_path_factory.mktemp("tiny-model") / "model.joblib"
    train([TINY], with_starter=False, config=TINY_CONFIG, out=path)
    return path


@pytest.fixture
def model_copy(tiny_model_path, tmp_path) -> Path:
    """A private copy of the tiny model (and its metadata) that a test may tamper with."""
    target = tmp_path / "model.joblib"
    shutil.copy(tiny_model_path, target)
    shutil.copy(tiny_model_path.with_name(tiny_model_path.name + ".json"), target.with_name(target.name + ".json"))
    return target


@pytest.fixture(scope="session")
def tiny_artifact(tiny_model_path):
    return load(tiny_model_path)


@pytest.fixture
def moderator(tiny_artifact) -> Moderator:
    return Moderator(tiny_artifact, load_rulebook())


@pytest.fixture(params=accel.available())
def implementation(request):
    """Run the test once with each scanner implementation (the compiled one and its Python twin)."""
    with accel.use(request.param):
        yield request.param
