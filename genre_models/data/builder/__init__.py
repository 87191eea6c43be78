"""Building a films dataset from IMDb ids and OMDb (``python -m genre_models.dataset build``)."""
