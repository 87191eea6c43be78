"""Data: films CSVs and their splits, decoding what users hand us, and the IMDb/OMDb dataset builder."""
