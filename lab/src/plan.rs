//! The lab's network, planned from a scenario's hall tree: one namespace per hall, one link per
//! parent–child pair (a village behind NAT gets a NAT namespace between it and its township),
//! addresses per link, and the routes that let every hall reach every other one it may.

use std::net::Ipv4Addr;

use hallsync_model::Level;
use hallsync_sim::Scenario;

/// One hall of the lab.
#[derive(Clone, Debug)]
pub struct Hall {
    /// Its id.
    pub id: String,
    /// Its level.
    pub level: Level,
    /// Its parent hall (index), if any.
    pub parent: Option<usize>,
    /// The district it is under (index among districts), for partitions.
    pub district: Option<u32>,
    /// Its namespace.
    pub ns: String,
    /// Behind its own NAT.
    pub natted: bool,
    /// For villages: when its daily online window opens, in seconds after midnight (as the
    /// simulator draws it).
    pub online_from_s: u64,
}

/// One link: an upper and a lower namespace, a /30 between them.
#[derive(Clone, Debug)]
pub struct Link {
    /// Namespace above (nearer the city).
    pub upper: String,
    /// Namespace below.
    pub lower: String,
    /// The upper end's address.
    pub upper_addr: Ipv4Addr,
    /// The lower end's address.
    pub lower_addr: Ipv4Addr,
    /// The TUN device's name in the upper namespace.
    pub upper_dev: String,
    /// The TUN device's name in the lower namespace.
    pub lower_dev: String,
    /// The hall below (index) this link leads to (through a NAT namespace for a natted village).
    pub child: usize,
    /// True for the link between a NAT namespace and its village.
    pub behind_nat: bool,
}

/// A route to add: in `ns`, `to` via `via` on `dev`.
#[derive(Clone, Debug)]
pub struct Route {
    /// The namespace.
    pub ns: String,
    /// The destination (`default` or an address).
    pub to: String,
    /// The next hop.
    pub via: Ipv4Addr,
    /// The device.
    pub dev: String,
}

/// The whole plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Halls, the city first, parents before children.
    pub halls: Vec<Hall>,
    /// NAT namespaces (one per natted village).
    pub nats: Vec<String>,
    /// Links.
    pub links: Vec<Link>,
    /// Routes.
    pub routes: Vec<Route>,
}

fn addr(link: usize, end: u32) -> Ipv4Addr {
    // 10.100.0.0/10, four addresses a link: room for 16384 links.
    Ipv4Addr::from((10u32 << 24) | (100u32 << 16) | (link as u32 * 4 + end))
}

impl Plan {
    /// The plan for `scenario` in run `run` (a short tag in namespace names).
    pub fn new(scenario: &Scenario, run: &str) -> Plan {
        let seed = scenario.seed;
        let (nodes, _) =
            hallsync_sim::world::build(scenario, &mut hallsync_sim::rng::Rng::new(seed));
        let nat = scenario.lab.nat == "villages";
        let halls: Vec<Hall> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| Hall {
                id: n.hall.to_string(),
                level: n.level,
                parent: n.parent,
                district: n.district,
                ns: format!("{}{run}-{i}", crate::netns::PREFIX),
                natted: nat && n.level == Level::Village,
                online_from_s: n.online_from_s,
            })
            .collect();
        let mut links = Vec::new();
        let mut nats = Vec::new();
        for (i, h) in halls.iter().enumerate() {
            let Some(p) = h.parent else { continue };
            let mut push = |upper: &str, lower: &str, behind_nat: bool| {
                let k = links.len();
                links.push(Link {
                    upper: upper.to_string(),
                    lower: lower.to_string(),
                    upper_addr: addr(k, 1),
                    lower_addr: addr(k, 2),
                    upper_dev: format!("u{k}"),
                    lower_dev: format!("d{k}"),
                    child: i,
                    behind_nat,
                });
            };
            if h.natted {
                let nat_ns = format!("{}{run}-n{i}", crate::netns::PREFIX);
                push(&halls[p].ns, &nat_ns, false);
                push(&nat_ns, &h.ns, true);
                nats.push(nat_ns);
            } else {
                push(&halls[p].ns, &h.ns, false);
            }
        }
        let routes = routes(&links);
        Plan {
            halls,
            nats,
            links,
            routes,
        }
    }

    /// The address other halls reach hall `i` at: the lower end of its uplink (a natted village
    /// has none: only its NAT's, which it cannot be dialled at).
    pub fn address_of(&self, i: usize) -> Option<Ipv4Addr> {
        self.links
            .iter()
            .find(|l| l.child == i && l.lower == self.halls[i].ns && !self.halls[i].natted)
            .map(|l| l.lower_addr)
    }

    /// The link whose lower end is hall `i`'s uplink (for a natted village, the NAT's uplink), to
    /// cut it.
    pub fn uplink_of(&self, i: usize) -> Option<usize> {
        self.links
            .iter()
            .position(|l| l.child == i && !l.behind_nat)
    }
}

/// Every namespace reaches every address above it by default routes up, and every address below
/// it (not behind a NAT) through the link that leads there.
fn routes(links: &[Link]) -> Vec<Route> {
    let mut out = Vec::new();
    for l in links {
        out.push(Route {
            ns: l.lower.clone(),
            to: "default".into(),
            via: l.upper_addr,
            dev: l.lower_dev.clone(),
        });
    }
    // Downwards: from each link's upper namespace, every lower address in the subtree below it.
    for l in links {
        let mut below = Vec::new();
        let mut frontier = vec![l.lower.clone()];
        while let Some(ns) = frontier.pop() {
            for c in links.iter().filter(|c| c.upper == ns) {
                // Behind a NAT nothing is routed: the NAT's own address is all that shows.
                if !c.behind_nat {
                    below.push(c.lower_addr);
                    frontier.push(c.lower.clone());
                }
            }
        }
        for a in below {
            out.push(Route {
                ns: l.upper.clone(),
                to: a.to_string(),
                via: l.lower_addr,
                dev: l.upper_dev.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(nat: &str) -> Scenario {
        let text = format!(
            "name = \"t\"\nseed = 1\nduration_s = 10\n[halls]\ndistricts = 1\ntownships_per_parent = 1\nvillages_per_township = 2\n[lab]\nnat = \"{nat}\"\n"
        );
        Scenario::from_toml(&text, "test").unwrap()
    }

    #[test]
    fn every_hall_gets_an_uplink_and_natted_villages_a_nat_between() {
        let plain = Plan::new(&scenario("none"), "t");
        assert_eq!(plain.halls.len(), 5);
        assert_eq!(plain.links.len(), 4);
        assert!(plain.nats.is_empty());
        let natted = Plan::new(&scenario("villages"), "t");
        assert_eq!(natted.nats.len(), 2);
        assert_eq!(natted.links.len(), 6);
        let village = natted
            .halls
            .iter()
            .position(|h| h.level == Level::Village)
            .unwrap();
        assert!(
            natted.address_of(village).is_none(),
            "a natted village has no reachable address"
        );
        // The city routes to the township's address but never to a village behind NAT.
        let city = &natted.halls[0].ns;
        let behind: Vec<Ipv4Addr> = natted
            .links
            .iter()
            .filter(|l| l.behind_nat)
            .map(|l| l.lower_addr)
            .collect();
        assert!(natted
            .routes
            .iter()
            .filter(|r| &r.ns == city)
            .all(|r| !behind.iter().any(|b| b.to_string() == r.to)));
    }
}
