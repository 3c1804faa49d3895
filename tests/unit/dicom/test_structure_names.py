"""Structure names normalised to TG-263: the shipped table, synonyms, targets, user mappings."""

from __future__ import annotations

import json

import pytest

from radassure.dicom import (
    load_name_mapping,
    normalise_structure_name,
    normalise_structure_names,
    tg263_names,
)
from radassure.dicom.names import _table
from radassure.errors import DataValidationError

REQUIRED = [
    "Parotid_L", "Parotid_R", "SpinalCord", "Brainstem", "Bone_Mandible", "Lung_L", "Lung_R",
    "Heart", "Esophagus", "Bladder", "Rectum", "Femur_Head_L", "Femur_Head_R", "Eye_L", "Eye_R",
    "OpticNrv_L", "OpticNrv_R", "OpticChiasm", "Cochlea_L", "Cochlea_R", "Larynx",
    "Glnd_Submand_L", "Glnd_Submand_R", "Kidney_L", "Kidney_R", "Liver", "Bowel",
]  # fmt: skip


def test_table_holds_the_common_structures_and_is_unambiguous():
    names = tg263_names()
    assert set(REQUIRED) <= set(names)
    assert len(_table()) > 10 * len(names)  # synonyms and lateral variants
    for name in names:  # every TG-263 name is a fixed point
        assert normalise_structure_name(name.upper()).name == name
        assert normalise_structure_name(name).name == name


@pytest.mark.parametrize(
    ("written", "tg263"),
    [
        ("L Parotid", "Parotid_L"),
        ("parotid left", "Parotid_L"),
        ("PAROTID_LT", "Parotid_L"),
        ("Parotid-R", "Parotid_R"),
        ("Rt. parotid gland", "Parotid_R"),
        ("Cord", "SpinalCord"),
        ("spinal_cord", "SpinalCord"),
        ("Brain Stem", "Brainstem"),
        ("MANDIBLE", "Bone_Mandible"),
        ("Lung Left", "Lung_L"),
        ("R_Lung", "Lung_R"),
        ("Lungs", "Lungs"),
        ("Oesophagus", "Esophagus"),
        ("Urinary bladder", "Bladder"),
        ("Fem Head L", "Femur_Head_L"),
        ("femoral_head_rt", "Femur_Head_R"),
        ("Optic Nerve L", "OpticNrv_L"),
        ("optic chiasm", "OpticChiasm"),
        ("Chiasm", "OpticChiasm"),
        ("Cochlea Lt", "Cochlea_L"),
        ("Submandibular R", "Glnd_Submand_R"),
        ("Left Kidney", "Kidney_L"),
        ("Small Bowel", "Bowel_Small"),
        ("BODY", "External"),
        ("Eye_Sin", "Eye_L"),
        ("Cord PRV 5mm", "SpinalCord_PRV05"),
        ("Brainstem_PRV3", "Brainstem_PRV03"),
        ("Parotid_L PRV", "Parotid_L_PRV"),
    ],
)
def test_synonyms_match_case_and_punctuation_insensitively(written, tg263):
    result = normalise_structure_name(written)
    assert (result.name, result.matched, result.source) == (tg263, True, "tg263")
    assert result.original == written


@pytest.mark.parametrize(
    ("written", "tg263"),
    [
        ("PTV", "PTV"),
        ("GTVp", "GTVp"),
        ("gtv_n", "GTVn"),
        ("PTV1", "PTV1"),
        ("PTV-2", "PTV2"),
        ("PTV 70Gy", "PTV_7000"),
        ("PTV_70", "PTV_7000"),
        ("ptv7000", "PTV_7000"),
        ("ptv 50.4 Gy", "PTV_5040"),
        ("CTVn_5040", "CTVn_5040"),
        ("PTVp1 5600cGy", "PTVp1_5600"),
        ("CTV high", "CTV_High"),
        ("itv", "ITV"),
        ("PTV nodes", "PTV nodes"),  # not a classifier: kept (and flagged)
    ],
)
def test_target_volumes_follow_the_tg263_pattern(written, tg263):
    assert normalise_structure_name(written).name == tg263


@pytest.mark.parametrize("written", ["Lung", "Parotids", "PTV_Eval", "CTVHR", "z_ring", "Lt", ""])
def test_unmatched_names_are_kept_and_flagged(written):
    result = normalise_structure_name(written)
    assert (result.name, result.matched, result.source) == (written, False, "unmatched")


def test_user_mapping_takes_precedence():
    mapping = {"cord": "SpinalCanal", "Dens Axis": "Bone_Dens"}
    got = normalise_structure_names(["CORD", "dens-axis", "L Parotid", "Help"], mapping=mapping)
    assert [(s.name, s.source) for s in got] == [
        ("SpinalCanal", "mapping"),
        ("Bone_Dens", "mapping"),
        ("Parotid_L", "tg263"),
        ("Help", "unmatched"),
    ]


def test_load_mapping_from_csv_and_json(tmp_path):
    csv_path = tmp_path / "names.csv"
    csv_path.write_text("local_name,tg263_name,comment\nMy Cord,SpinalCord,x\n LPar ,Parotid_L,\n")
    assert load_name_mapping(csv_path) == {"My Cord": "SpinalCord", "LPar": "Parotid_L"}
    json_path = tmp_path / "names.json"
    json_path.write_text(json.dumps({"My Cord": "SpinalCord"}))
    mapping = load_name_mapping(json_path)
    assert normalise_structure_name("my_cord", mapping=mapping).source == "mapping"


@pytest.mark.parametrize(
    ("name", "text", "row", "match"),
    [
        ("a.csv", "name,tg263\nCord,SpinalCord\n", 1, "local_name,tg263_name"),
        ("b.csv", "local_name,tg263_name\nCord,\n", 2, "both a local name"),
        ("c.csv", "local_name,tg263_name\nCord,SpinalCord\ncord ,SpinalCanal\n", 3, "maps to"),
        ("d.json", "[1, 2]", None, "one object"),
        ("e.json", "{not json", None, "is not JSON"),
    ],
)
def test_bad_mapping_files_are_rejected_with_the_row(tmp_path, name, text, row, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataValidationError, match=match) as excinfo:
        load_name_mapping(path)
    (problem,) = excinfo.value.problems
    assert problem.source == str(path) and problem.row == row
    with pytest.raises(DataValidationError, match="cannot be read"):
        load_name_mapping(tmp_path / "absent.csv")
