"""Git for a run: its folder as a repository; the user's repositories, cloned and delivered to."""
