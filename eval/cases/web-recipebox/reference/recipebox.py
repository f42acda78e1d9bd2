"""Recipes kept in memory, each readable scaled to another number of servings."""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field


class Ingredient(BaseModel):
    """One ingredient of a recipe: how much of what."""

    name: str
    amount: float = Field(gt=0)
    unit: str


class NewRecipe(BaseModel):
    """What a client sends to add a recipe."""

    title: str = Field(min_length=1)
    servings: int = Field(ge=1)
    ingredients: list[Ingredient]


class Recipe(NewRecipe):
    """A recipe as stored and returned."""

    id: int


app = FastAPI(title="recipebox")
_recipes: dict[int, Recipe] = {}
_ids = itertools.count(1)


@app.post("/recipes", status_code=201)
def create_recipe(new: NewRecipe) -> Recipe:
    """Store a recipe under the next id."""
    recipe = Recipe(id=next(_ids), **new.model_dump())
    _recipes[recipe.id] = recipe
    return recipe


@app.get("/recipes/{recipe_id}")
def get_recipe(recipe_id: int, servings: Annotated[int | None, Query(ge=1)] = None) -> Recipe:
    """Return a recipe, scaled to ``servings`` when given."""
    if recipe_id not in _recipes:
        raise HTTPException(status_code=404, detail=f"no recipe {recipe_id}")
    recipe = _recipes[recipe_id]
    if servings is None:
        return recipe
    factor = servings / recipe.servings
    ingredients = [
        i.model_copy(update={"amount": round(i.amount * factor, 2)}) for i in recipe.ingredients
    ]
    return recipe.model_copy(update={"servings": servings, "ingredients": ingredients})


@app.get("/recipes")
def list_recipes(ingredient: str | None = None) -> list[Recipe]:
    """List the recipes by id, only those using ``ingredient`` (any case) when given."""
    found = sorted(_recipes.values(), key=lambda r: r.id)
    if ingredient is None:
        return found
    wanted = ingredient.casefold()
    return [r for r in found if any(i.name.casefold() == wanted for i in r.ingredients)]
