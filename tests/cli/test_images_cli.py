"""`watchfloor images ...`: known-image lists from the command line, and a rule that uses one."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from tests.cli.test_cli import wf


def _picture(path: Path) -> Path:
    image = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(image)
    for i in range(0, 320, 40):
        draw.rectangle((i, (i * 3) % 200, i + 30, (i * 3) % 200 + 40), fill=(i % 255, 80, 160))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def test_create_add_show_and_use_a_list(tmp_path: Path) -> None:
    db = tmp_path / "floor.db"
    made = wf(db, "images", "create", "scam-kit", "--description", "Crypto giveaway flyers")
    assert "imagehash:~scam-kit" in made.stdout
    added = wf(db, "images", "add", "scam-kit", str(_picture(tmp_path / "flyer.png")), "--label", "flyer")
    assert "Added flyer.png to scam-kit as image 1" in added.stdout and "3 region hashes" in added.stdout
    partner = wf(db, "images", "add", "scam-kit", "--pdq", "ab" * 32)
    assert "crops and captions will not match" in partner.stdout
    shown = wf(db, "images", "show", "scam-kit").stdout
    assert "flyer" in shown and "2 images" in shown and "regions" in shown
    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), "white").save(blank)
    flat = wf(db, "images", "add", "scam-kit", str(blank), check=False)
    assert flat.returncode != 0 and "blank.png: the image is (nearly) one flat colour" in flat.stderr
    listed = wf(db, "images", "list").stdout
    assert "scam-kit" in listed

    rule = wf(db, "rules", "add", "Scam flyers", "--query", "imagehash:~scam-kit", "--severity", "high")
    assert "Scam flyers" in rule.stdout
    missing = wf(db, "rules", "add", "Typo", "--query", "imagehash:~scam-kits", check=False)
    assert missing.returncode != 0 and "known-image list 'scam-kits' does not exist" in missing.stderr

    bad_hash = wf(db, "images", "add", "scam-kit", "--pdq", "xyz", check=False)
    assert bad_hash.returncode != 0 and "64 hexadecimal digits" in bad_hash.stderr
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    refused = wf(db, "images", "add", "scam-kit", str(not_image), check=False)
    assert refused.returncode != 0 and "notes.txt: the file is not an image" in refused.stderr
    assert "Traceback" not in refused.stderr

    wf(db, "images", "remove", "scam-kit", "1")
    assert "1 images" in wf(db, "images", "show", "scam-kit").stdout
    denied = wf(db, "--as", "rita", "images", "list", check=False)
    assert denied.returncode != 0
