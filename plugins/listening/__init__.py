"""Vigie: social listening for public institutions, on Airflow."""
