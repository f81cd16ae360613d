"""The lists a feature is added to are one list each, and every place that offers the feature reads it:
lapse methods (lapse.REGISTRY), follow-up rules (followup.RULES) and settings (settings.SPECS)."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

from xlcrm import cli, followup, lapse, messages, settings, udfs
from xlcrm.jobs.lapse import lapse_file

XLCRM = Path(__file__).resolve().parents[1] / "xlcrm"


def _settings_sheet(rows):
    t = pd.DataFrame(rows, columns=["key", "value"])
    t.index = range(2, 2 + len(t))
    return t


def _subparser(name):
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    return sub.choices[name]


@pytest.mark.parametrize("m", lapse.REGISTRY, ids=lambda m: m.name)
def test_every_lapse_method_is_offered_everywhere(m, tmp_path, capsys):
    # 設定: the name and each spelling select it; 説明 and the drop-down name it in Japanese (the English name is
    # for English mode and the command line)
    for word in (m.name, *m.words):
        assert settings.load(_settings_sheet([("離脱判定の方式", word)])).lapse_method == m.name
    spec = next(s for s in settings.SPECS if s.key == "lapse_method")
    assert f"{m.setting_ja}({m.label_ja})" in spec.help_ja and m.name in spec.help_en
    assert m.setting_ja in spec.labels("ja") and m.name in spec.labels("en") and m.name not in spec.help_ja
    # the command line
    method_arg = next(a for a in _subparser("lapse")._actions if a.dest == "method")
    assert m.name in method_arg.choices and m.name in method_arg.help
    # the message for a bad method lists it, from the sheet and from a formula
    with pytest.raises(messages.BadInput) as e:
        settings.load(_settings_sheet([("離脱判定の方式", "magic")]))
    assert m.setting_ja in e.value.message("ja") and m.name in e.value.message("en")
    with pytest.raises(messages.BadInput) as e:
        udfs.LAPSE_STATUS([["C1"]], [["C1"]], [[45000.0]], 45100.0, "magic")
    assert m.name in e.value.message("en")
    # the sheet formula and the command both run it
    assert udfs.LAPSE_STATUS([["C1"]], [["C1"], ["C1"]], [[45000.0], [45030.0]], 45100.0, m.name)[0][0] \
        in lapse.STATUS
    path = tmp_path / "o.csv"
    path.write_text("顧客ID,注文日,金額\nC1,2024-01-01,100\nC1,2024-02-01,100\nC2,2024-01-05,100\n", encoding="utf-8")
    lapse_file(path, None, as_of="2024-06-30", method=m.name, as_json=True)
    doc = json.loads(capsys.readouterr().out)
    assert doc["requested_method"] == m.name and set(m.columns) <= set(doc["rows"][0])
    # and the side-by-side view has it
    orders = pd.DataFrame({"customer_id": ["C1", "C1"], "order_date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                           "amount": [100.0, 100.0]})
    assert f"status_{m.name}" in lapse.assess_all(orders, "2024-06-30")


def test_the_lapse_parameters_on_settings_are_the_cores():
    """Every lapse_X Spec is a parameter X of the core, so the job can pass them all by name."""
    keys = {s.key[len("lapse_"):] for s in settings.SPECS if s.key.startswith("lapse_")} - {"method"}
    assert keys <= set(lapse.DEFAULTS)


def _setting_reads():
    """(file, line, name) for every `settings.x`, `settings["x"]` and `settings.get("x")` in xlcrm/."""
    methods = {n for n in dir(settings.Settings) if not isinstance(getattr(settings.Settings, n), property)}
    for path in sorted(XLCRM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = getattr(node, "value", None)
            is_settings = (isinstance(target, ast.Name) and target.id == "settings") or (
                isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute)
                and target.func.attr == "settings")
            if not is_settings:
                continue
            if isinstance(node, ast.Attribute) and node.attr not in methods:
                yield path.name, node.lineno, node.attr
            elif isinstance(node, ast.Attribute) and node.attr == "get":
                yield path.name, node.lineno, "get"
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                yield path.name, node.lineno, node.slice.value


def test_every_setting_read_is_a_spec():
    keys = {s.key for s in settings.SPECS}
    reads = list(_setting_reads())
    assert len(reads) > 40          # the scan sees the jobs' reads
    module_attrs = {"Settings", "SPECS", "Spec", "load", "defaults", "sheet_rows"}   # `from . import settings`
    bad = [r for r in reads if r[2] not in keys and r[2] not in module_attrs]
    assert not bad, f"settings read without a Spec (or with .get and a default of its own): {bad}"


def test_settings_are_attributes_with_the_spec_defaults():
    s = settings.load(None)
    for spec in settings.SPECS:
        assert getattr(s, spec.key) == spec.default
    with pytest.raises(AttributeError):
        s.no_such_setting
    with pytest.raises(KeyError):
        s["no_such_setting"] = 1


def test_store_channels_is_a_setting_staff_can_edit():
    got = settings.load(_settings_sheet([("来店チャネル", "店舗、催事")]))
    assert got.store_channels == ["店舗", "催事"]
    assert "来店チャネル" in set(settings.sheet_rows("ja")["key"])


@pytest.mark.parametrize("r", followup.RULES, ids=lambda r: r.id)
def test_every_follow_up_rule_is_on_a_new_rules_sheet_and_can_be_switched_off(r):
    raw = followup.default_rules()
    raw.index = range(2, 2 + len(raw))
    rules = followup.parse_rules(raw)
    assert rules[r.id].params == {k: float(v) for k, (_, v) in r.params.items()}
    assert rules[r.id].marketing == r.marketing and rules[r.id].channels
    # its parameters are named on the sheet in Japanese, and a wrong one names them back
    raw.loc[raw["rule"].eq(r.id), "params"] = "ないパラメータ=1"
    with pytest.raises(messages.BadInput) as e:
        followup.parse_rules(raw)
    assert all(ja in e.value.message("ja") for ja, _ in r.params.values())
    # 有効 off: the rule gives no rows, whatever the data
    raw = followup.default_rules()
    raw.loc[raw["rule"].eq(r.id), "enabled"] = False
    off = followup.parse_rules(raw)
    from test_followup import shop
    cust, ords, cons, rfm, lap = shop()
    on = followup.candidates(cust, ords, cons, rfm, lap, rules, "2024-06-15", only=(r.id,))
    assert followup.candidates(cust, ords, cons, rfm, lap, off, "2024-06-15", only=(r.id,)).empty
    assert set(on["rule"]) <= {r.id}
