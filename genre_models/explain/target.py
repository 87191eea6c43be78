"""What an explanation explains: the model's own answer on the film, and the genre chosen in it."""
from __future__ import annotations

from ..errors import InvalidInputError, PlanError
from ..models.prediction import Prediction
from ..models.predictors import GenrePredictor


def answer_and_genre(predictor: GenrePredictor, genre: str | None, mode: str, **film) -> tuple[Prediction, str]:
    """The prediction on ``film`` (``poster=`` or ``plot=``) and the genre to explain (default: its top one).

    Raises PlanError with the model's own message when it cannot answer, InvalidInputError for a genre it
    does not score.
    """
    answer = predictor.predict(**film, mode=mode, genres=[genre] if genre else None)
    if not answer.ok:
        raise PlanError(answer.message, summary=answer.summary, fix=answer.fix)
    genre = genre or answer.top(1)[0][0]
    if genre not in answer.probabilities:
        raise InvalidInputError(f"{predictor.name} scores {', '.join(answer.probabilities)}; not {genre!r}")
    return answer, genre
