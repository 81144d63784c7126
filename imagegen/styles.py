"""Shared style values, so pages look alike without repeating numbers."""

ACCENT = "violet"
SIDEBAR_WIDTH = "15rem"
CARD_MAX_WIDTH = "26rem"

label_style = {
    "font_size": "var(--font-size-2)",
    "font_weight": "500",
    "color": "var(--gray-12)",
}

# Visually hidden, still read by screen readers.
sr_only = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "overflow": "hidden",
    "clip": "rect(0 0 0 0)",
    "white_space": "nowrap",
}
