"""Zero-shot prompts, kept as data (as open_clip's ``zero_shot_metadata.py`` does).

Each genre is scored against a *neutral* prompt built from the same templates with no genre word,
so every genre gets its own independent probability (see ``zero_shot.py``). Templates must
therefore read well with the genre slot left empty: "a poster of a {} movie." -> "a poster of a movie.".
"""
from __future__ import annotations

# Seven poster templates, ensembled in embedding space.
POSTER_TEMPLATES: tuple[str, ...] = (
    "a poster of a {} movie.",
    "a movie poster for a {} film.",
    "the poster of a {} film.",
    "a {} movie poster.",
    "a promotional poster for a {} movie.",
    "an illustrated poster of a {} film.",
    "a photo of a {} movie poster.",
)

# Words that read naturally inside the templates ("a science fiction movie", not "a Sci-Fi movie").
GENRE_PHRASES: dict[str, str] = {
    "Action": "action",
    "Adventure": "adventure",
    "Animation": "animated",
    "Comedy": "comedy",
    "Crime": "crime",
    "Documentary": "documentary",
    "Drama": "drama",
    "Family": "family",
    "Fantasy": "fantasy",
    "History": "historical",
    "Horror": "horror",
    "Music": "musical",
    "Mystery": "mystery",
    "Romance": "romance",
    "Sci-Fi": "science fiction",
    "Thriller": "thriller",
    "War": "war",
    "Western": "western",
}

# Plot models compare a plot with what a genre's films are about, in the same sentence-embedding space.
PLOT_TEMPLATES: tuple[str, ...] = (
    "A {} movie.",
    "The plot of a {} film.",
)
GENRE_DESCRIPTIONS: dict[str, str] = {
    "Action": "An action film full of fights, chases, explosions and shootouts.",
    "Adventure": "An adventure film about a journey or quest to faraway, dangerous places.",
    "Animation": "An animated cartoon film with drawn or computer-animated characters.",
    "Comedy": "A comedy film with funny situations, jokes and misunderstandings.",
    "Crime": "A crime film about criminals, police, gangsters, robberies or murder investigations.",
    "Documentary": "A documentary film presenting real people, real events and facts.",
    "Drama": "A drama about personal struggles, relationships and difficult life choices.",
    "Family": "A family film for children and parents, with a warm story about kids, pets or home.",
    "Fantasy": "A fantasy film with magic, wizards, dragons, fairy tales and mythical worlds.",
    "History": "A historical film set in the past, about real historical figures and events.",
    "Horror": "A horror film about ghosts, demons, monsters, haunted houses and terrifying killers.",
    "Music": "A musical film about singers, bands, dancers, songs and performances.",
    "Mystery": "A mystery film in which a detective tries to solve a puzzling secret or crime.",
    "Romance": "A romance film about two people falling in love.",
    "Sci-Fi": "A science fiction film about space, aliens, robots, future technology or time travel.",
    "Thriller": "A thriller full of suspense, danger, conspiracies and a race against time.",
    "War": "A war film about soldiers, battles and armies in wartime.",
    "Western": "A western film about cowboys, outlaws and sheriffs in the American frontier.",
}

# The neutral side gets a description of the same length and style, so descriptions do not lift
# every genre above the neutral prompt just by being longer.
NEUTRAL_DESCRIPTION = "A film that tells a story about some people and the events in their lives."


def genre_phrase(genre: str) -> str:
    """The word(s) that stand for a genre inside a template; custom genres are used as typed."""
    return GENRE_PHRASES.get(genre, genre.strip().lower())


def fill(template: str, phrase: str) -> str:
    """Fill one template, folding the double space an empty (neutral) phrase leaves behind."""
    return " ".join(template.format(phrase).split())


def poster_prompts(genre: str) -> list[str]:
    """All poster prompts for one genre (or for the neutral class when ``genre`` is "")."""
    phrase = genre_phrase(genre) if genre else ""
    return [fill(t, phrase) for t in POSTER_TEMPLATES]


def plot_prompts(genre: str) -> list[str]:
    """All plot-side prompts for one genre (or the neutral class when ``genre`` is "")."""
    phrase = genre_phrase(genre) if genre else ""
    prompts = [fill(t, phrase) for t in PLOT_TEMPLATES]
    if not genre:
        prompts.append(NEUTRAL_DESCRIPTION)
    elif genre in GENRE_DESCRIPTIONS:
        prompts.append(GENRE_DESCRIPTIONS[genre])
    return prompts


# ConSE (models/conse.py) reaches genres through a classifier's class names, so a genre is described by
# what its posters *show*, in words that name such classes; the genre word alone lands near "film" for
# every genre in a sentence embedding (docs: ../shared/docs/conse-notes.md, measured on ImageNet-21k).
GENRE_VISUALS: dict[str, tuple[str, ...]] = {
    "Action": ("explosion", "gun", "fighter", "racing car", "warrior"),
    "Adventure": ("explorer", "jungle", "treasure", "sailing ship", "mountain"),
    "Animation": ("cartoon", "comic book", "puppet", "toy", "drawing"),
    "Comedy": ("clown", "jester", "comedian", "smile", "party"),
    "Crime": ("gangster", "prison", "police officer", "detective", "bank robber"),
    "Documentary": ("reporter", "camera", "newspaper", "microphone", "globe"),
    "Drama": ("family", "letter", "hospital", "church", "portrait"),
    "Family": ("child", "puppy", "toy", "house", "parent"),
    "Fantasy": ("dragon", "wizard", "castle", "unicorn", "fairy"),
    "History": ("king", "queen", "knight", "palace", "ancient ruins"),
    "Horror": ("skull", "ghost", "zombie", "coffin", "vampire"),
    "Music": ("guitar", "piano", "singer", "drum", "concert"),
    "Mystery": ("detective", "magnifying glass", "key", "mask", "fog"),
    "Romance": ("couple", "kiss", "bride", "wedding", "rose"),
    "Sci-Fi": ("spaceship", "astronaut", "robot", "planet", "alien"),
    "Thriller": ("knife", "spy", "pistol", "fugitive", "shadow"),
    "War": ("soldier", "tank", "warplane", "battleship", "rifle"),
    "Western": ("cowboy", "horse", "revolver", "desert", "saloon"),
}
# What every poster shows whatever its genre: the neutral side of the contrast (zero_shot.py).
CONSE_NEUTRAL: tuple[str, ...] = ("a film", "a picture", "a person")


def conse_prompts(genre: str) -> list[str]:
    """ConSE's prompts for one genre: the genre as a film, and what its posters show (neutral for "")."""
    if not genre:
        return list(CONSE_NEUTRAL)
    return [f"a {genre_phrase(genre)} film", *GENRE_VISUALS.get(genre, (genre_phrase(genre),))]
