// Seat pickers that follow the rest of the form. On the new-agent form the seat list is refilled with
// the chosen game's own seats (#seats-by-game: game -> [[seat, label], ...]). On the play form a
// checkpoint plays the seat it learned, so picking one sets "Your seat" to the other seat and says so
// in the seat's help text (#learned-seats: opponent spec -> the seat it learned).

function readJSON(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function agentForm(seatsByGame) {
  const game = document.querySelector("select[name=game]");
  const seat = document.querySelector("select[name=seat]");
  if (!game || !seat) return;
  game.addEventListener("change", () => {
    const keep = seat.value;
    const options = [["", "every seat"], ...(seatsByGame[game.value] || [])];
    seat.replaceChildren(
      ...options.map(([value, label]) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = label;
        option.selected = value === keep;
        return option;
      }),
    );
  });
}

function playForm(learned) {
  const opponent = document.querySelector("select[name=opponent]");
  const seat = document.querySelector("select[name=seat]");
  const hint = document.getElementById("id_seat_helptext"); // the seat's help text, under its list
  if (!opponent || !seat) return;
  const seats = [...seat.options].map((o) => o.value);
  const follow = (initial) => {
    const theirs = learned[opponent.value];
    if (!theirs) {
      if (hint) hint.textContent = "A reference bot plays either seat: take the one you like.";
      return;
    }
    const yours = seats.find((s) => s !== theirs) || theirs;
    // On load, keep a seat the page already chose (a link's or a re-shown form's), unless it clashes.
    if (!initial || seat.value === theirs) seat.value = yours;
    if (hint) hint.textContent = `This checkpoint learned ${theirs} and plays it: you take ${yours}.`;
  };
  opponent.addEventListener("change", () => follow(false));
  follow(true);
}

const seatsByGame = readJSON("seats-by-game");
if (seatsByGame) agentForm(seatsByGame);
const learned = readJSON("learned-seats");
if (learned) playForm(learned);
