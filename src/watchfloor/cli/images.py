"""`watchfloor images ...`: known-image lists that rules match with ``imagehash:~name``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from watchfloor.cli.app import app, out, state_of
from watchfloor.domain.errors import InputError
from watchfloor.services.images import (
    add_known_image,
    create_image_list,
    image_lists,
    remove_known_image,
    show_image_list,
)

images_app = typer.Typer(
    help=(
        "Known-image lists (a propaganda set, a scam kit): rules match posts whose photos or video "
        "frames look like one of them with imagehash:~name.\n\n"
        "Example:\n\n  watchfloor --basis 1 images create scam-kit --description 'Crypto giveaway flyers'\n\n"
        "  watchfloor images add scam-kit flyer.jpg --label 'fake giveaway'\n\n"
        "  watchfloor rules add 'Scam flyers' --query 'imagehash:~scam-kit' --severity high"
    ),
    no_args_is_help=True,
)
app.add_typer(images_app, name="images")

_MAX_FILE = 50 * 1024 * 1024


@images_app.command("create")
def images_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="List name: lower-case letters, digits, '_', '.', '-'.")],
    description: Annotated[str, typer.Option(help="What the list holds and why (reviewers read it).")],
) -> None:
    """Create an empty list under your legal basis (--basis / WATCHFLOOR_BASIS).

    Example: watchfloor --basis 1 images create scam-kit --description "Crypto giveaway flyers, 2026"
    """
    state = state_of(ctx)
    made = create_image_list(
        state.context(), actor=state.actor(), name=name, description=description, basis_id=state.basis_id()
    )
    out.print(f"Created known-image list {made.name} (id {made.id}); rules can use imagehash:~{made.name}.")


@images_app.command("add")
def images_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The list.")],
    files: Annotated[list[Path] | None, typer.Argument(help="Image files to hash (not kept).")] = None,
    pdq: Annotated[str | None, typer.Option(help="A PDQ hash (64 hex digits) from a partner.")] = None,
    phash: Annotated[str | None, typer.Option(help="A pHash (16 hex digits).")] = None,
    label: Annotated[str | None, typer.Option(help="A short label shown in 'why this alert'.")] = None,
) -> None:
    """Add images by file (hashed with pHash and PDQ, whole and over three regions so that cropped and
    captioned copies match too; the file is not stored) or by a partner's whole-image hash.

    Example: watchfloor images add scam-kit flyer1.jpg flyer2.png --label "giveaway flyer"
    Example: watchfloor images add scam-kit --pdq <64 hex digits from a partner>
    """
    state = state_of(ctx)
    context, actor = state.context(), state.actor()
    if not files:
        item = add_known_image(context, actor=actor, list_name=name, pdq=pdq, phash=phash, label=label)
        out.print(f"Added image {item.id} to {name} (a whole-image hash: crops and captions will not match).")
        return
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        if path.stat().st_size > _MAX_FILE:
            raise InputError(f"{path}: larger than {_MAX_FILE // 2**20} MB; is it really an image?")
        try:
            item = add_known_image(
                context, actor=actor, list_name=name, data=path.read_bytes(), label=label or path.name
            )
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        out.print(
            f"Added {path.name} to {name} as image {item.id} (pHash {item.phash or 'none'}, "
            f"{len(item.regions)} region hashes: crops and captions match too)."
        )


@images_app.command("remove")
def images_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The list.")],
    item_id: Annotated[int, typer.Argument(help="The image id (`watchfloor images show NAME`).")],
) -> None:
    """Take one image out of a list. Example: watchfloor images remove scam-kit 3"""
    state = state_of(ctx)
    remove_known_image(state.context(), actor=state.actor(), list_name=name, item_id=item_id)
    out.print(f"Removed image {item_id} from {name}.")


@images_app.command("list")
def images_list(ctx: typer.Context) -> None:
    """List the known-image lists. Example: watchfloor images list"""
    state = state_of(ctx)
    found = image_lists(state.context(), actor=state.actor())
    if not found:
        out.print("No known-image lists yet: `watchfloor images create NAME --description ...`.")
        return
    table = Table("name", "images", "basis", "created by", "description")
    for item in found:
        table.add_row(item.name, str(item.items), str(item.basis_id), item.created_by, item.description)
    out.print(table)


@images_app.command("show")
def images_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The list.")]) -> None:
    """Show a list's images (hashes and labels). Example: watchfloor images show scam-kit"""
    state = state_of(ctx)
    found, items = show_image_list(state.context(), actor=state.actor(), list_name=name)
    out.print(f"{found.name}: {found.description} (basis {found.basis_id}, {len(items)} images)")
    table = Table("id", "label", "pHash", "PDQ", "regions", "added by")
    for item in items:
        regions = str(len(item.regions)) if item.regions else "none"  # a partner's hash: whole image only
        table.add_row(
            str(item.id), item.label or "", item.phash or "", item.pdq or "", regions, item.added_by
        )
    out.print(table)
