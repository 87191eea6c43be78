"""Several models on one film (what the app and its API show), and the Results tab's reports."""
