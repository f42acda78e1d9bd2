"use strict";
// Say why the last sign-in did not work (the server names the problem in the address).
(function () {
  // A wait in words, rounded up, as the server says it: "40 seconds", "3 minutes", "2 hours".
  function howLong(seconds) {
    const left = Math.max(1, Math.ceil(seconds));
    const say = (n, unit) => n + " " + unit + (n === 1 ? "" : "s");
    if (left < 60) return say(left, "second");
    if (left <= 3600) return say(Math.ceil(left / 60), "minute");
    return say(Math.ceil(left / 3600), "hour");
  }
  const query = new URLSearchParams(window.location.search);
  const wait = Number.parseInt(query.get("wait") || "", 10);
  const problems = {
    wrong: "That name and password do not match.",
    locked: "Too many failed sign-ins; try again " +
      (wait > 0 && wait <= 86400 ? "in " + howLong(wait) + "." : "later."),
    unavailable: "Sign-in is unavailable right now (the database cannot be reached); " +
      "try again in a moment.",
    empty: "Give a name and a password.",
    form: "That form was too large.",
  };
  const found = query.get("problem");
  if (found && Object.prototype.hasOwnProperty.call(problems, found)) {
    const box = document.getElementById("problem");
    box.textContent = problems[found];
    box.hidden = false;
  }
})();
