"""Stock keeping over HTTP with FastAPI, items kept in memory."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

Sku = Annotated[str, Field(pattern=r"^[A-Z0-9-]{1,20}$")]


class Item(BaseModel):
    """One stocked item."""

    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=0)]


class Adjustment(BaseModel):
    """A change to an item's quantity."""

    delta: int


class Listing(BaseModel):
    """Items and the sum of their quantities."""

    items: list[Item]
    total_quantity: int


app = FastAPI(title="inventory")
_items: dict[str, Item] = {}


def _get(sku: str) -> Item:
    if sku not in _items:
        raise HTTPException(status_code=404, detail=f"no item with sku {sku!r}")
    return _items[sku]


@app.post("/items", status_code=201)
def add_item(item: Item) -> Item:
    """Stock a new item."""
    if item.sku in _items:
        raise HTTPException(status_code=409, detail=f"sku {item.sku!r} exists")
    _items[item.sku] = item
    return item


@app.get("/items")
def list_items(below: int | None = None) -> Listing:
    """List items by sku, optionally only those with quantity under ``below``."""
    items = [item for _, item in sorted(_items.items()) if below is None or item.quantity < below]
    return Listing(items=items, total_quantity=sum(i.quantity for i in items))


@app.get("/items/{sku}")
def get_item(sku: str) -> Item:
    """Return one item."""
    return _get(sku)


@app.post("/items/{sku}/adjust")
def adjust(sku: str, body: Adjustment) -> Item:
    """Add ``delta`` to an item's quantity, never below zero."""
    item = _get(sku)
    if body.delta == 0:
        raise HTTPException(status_code=422, detail="delta must not be 0")
    quantity = item.quantity + body.delta
    if quantity < 0:
        raise HTTPException(status_code=409, detail=f"only {item.quantity} in stock")
    changed = item.model_copy(update={"quantity": quantity})
    _items[sku] = changed
    return changed


@app.delete("/items/{sku}", status_code=204)
def delete_item(sku: str) -> Response:
    """Remove an item."""
    _get(sku)
    del _items[sku]
    return Response(status_code=204)
