import pytest

from mer_tf import labels


def test_seven_classes_in_paper_order():
    assert labels.CLASSES == ("Neutral", "Happy", "Surprise", "Angry", "Fear", "Disgust", "Sad")


@pytest.mark.parametrize(
    "raw, seven, megc",
    [
        ("happiness", "Happy", "positive"),
        ("Surprise ", "Surprise", "surprise"),
        ("Anger", "Angry", "negative"),
        ("fear", "Fear", "negative"),
        ("disgust", "Disgust", "negative"),
        ("sadness", "Sad", "negative"),
        ("repression", None, "negative"),
        ("Contempt", None, "negative"),
        ("others", None, None),
        ("Other", None, None),
    ],
)
def test_label_maps_follow_datasets_md(raw, seven, megc):
    assert labels.to_seven(raw) == seven
    assert labels.to_megc3(raw) == megc


def test_unknown_label_is_named():
    with pytest.raises(ValueError, match="'joy'"):
        labels.to_seven("joy")


def test_extra_map_overrides():
    assert labels.to_seven("repression", extra={"repression": "Disgust"}) == "Disgust"


def test_seven_to_megc3_consistent_with_raw():
    for raw, seven in labels.RAW_TO_SEVEN.items():
        if seven is not None and raw != "neutral":
            assert labels.SEVEN_TO_MEGC3[seven] == labels.RAW_TO_MEGC3[raw]
