"""Each gallery card is a React component of its own, wrapped in React's `memo`, fed the card's
fields one by one. A change to one card (a job done, a heart) then re-renders that card only:
`memo` compares props by identity, so a card handed as one object (a new object in every
delta) would re-render every card of the list on every change."""

import re
from typing import Any

import pytest

from imagegen.cards import Card
from imagegen.components import gallery
from imagegen.state.gallery import GalleryState

FIELD_PROP = re.compile(r'^(card\w+):item_rx_state_\?\.\["(\w+)"\]$')


def _find(node: Any, prefix: str) -> list[dict]:
    found = []
    if isinstance(node, dict):
        if str(node.get("name", "")).startswith(prefix):
            found.append(node)
        for value in node.values():
            found += _find(value, prefix)
    elif isinstance(node, list):
        for value in node:
            found += _find(value, prefix)
    return found


@pytest.mark.parametrize(
    ("grid", "tag"),
    [
        (gallery._feed_grid, "CardTile_"),
        (lambda: gallery._grid(GalleryState.results), "CardTile_"),
        (gallery.collection_view, "CardFill_"),
    ],
    ids=["feed", "search results", "open collection"],
)
def test_cards_are_memo_components_fed_field_by_field(grid, tag) -> None:
    [card] = _find(grid().render(), tag)
    fields = {}
    for prop in card["props"]:
        match = FIELD_PROP.match(prop)
        assert match, f"a card prop that is not one field of the item: {prop}"
        fields[match.group(2)] = match.group(1)
    # Every field the card shows, none left out (the sort key is not shown).
    assert set(fields) == set(Card.__annotations__) - {"key"}
    assert card["children"] == []
