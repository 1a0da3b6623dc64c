"""Plots and tables that report on data, runs and results."""
