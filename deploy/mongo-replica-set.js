// Makes the three mongod of docker-compose.yml one replica set, rs0, and waits for a
// primary. Run by the one-shot `mongo-init` service on every `docker compose up`:
// a set that is already initiated is left as it is.
const members = ["mongo-1:27017", "mongo-2:27017", "mongo-3:27017"];

try {
  rs.status();
  print("replica set rs0 is initiated");
} catch (error) {
  if (error.codeName !== "NotYetInitialized") throw error;
  rs.initiate({ _id: "rs0", members: members.map((host, index) => ({ _id: index, host })) });
  print("replica set rs0 initiated");
}

while (!rs.status().members.some((member) => member.stateStr === "PRIMARY")) {
  sleep(1000);
}
print("replica set rs0 has a primary");
