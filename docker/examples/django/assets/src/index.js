// The front-end bundle: webpack turns this into assets/dist/main.js, which collectstatic collects.
const visits = document.getElementById("visits");
if (visits) {
  visits.dataset.bundle = "loaded";
}
console.log("shop bundle loaded");
