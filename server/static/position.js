// "Use my position" on a location's form: fills latitude and longitude from the browser's own
// geolocation (no map, no outside server); without JavaScript the fields are typed.
for (const set of document.querySelectorAll("fieldset.position")) {
  const button = set.querySelector(".use-position");
  const said = set.querySelector(".position-said");
  if (!("geolocation" in navigator) || !button) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    said.textContent = "Finding your position…";
    navigator.geolocation.getCurrentPosition(
      (found) => {
        set.querySelector("[name=lat]").value = found.coords.latitude.toFixed(6);
        set.querySelector("[name=lng]").value = found.coords.longitude.toFixed(6);
        said.textContent = `Position filled in (within about ${Math.round(found.coords.accuracy)} m).`;
      },
      (error) => { said.textContent = `No position: ${error.message}. Type it instead.`; },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
}
