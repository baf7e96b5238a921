"""Real data turned into landing folders, to run the pipeline on real repayment behaviour."""
