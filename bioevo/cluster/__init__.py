"""Evaluation on a Dask cluster: a population's genome chunks go to Dask
workers, each holding its own compiled evaluator for the run (``remote``);
the client side scatters the data once and gathers results in order
(``population``); ``connect`` opens a LocalCluster or joins a scheduler and
refuses a cluster that cannot run the job before anything is written;
``studies`` runs a study's independent runs as Dask tasks."""
