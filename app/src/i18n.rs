//! English and French. The English text is the key: `t("Calendar")` is "Calendar" or
//! "Calendrier". The page's locale is the signed-in user's (`users.locale`), else the browser's
//! `Accept-Language`; the server writes it on `<html lang>`, where the browser reads it back when
//! it hydrates, so both sides render the same words.

use leptos::prelude::*;

/// A language uHub speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    /// The language's own name, as a language menu shows it.
    pub fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Fr => "Français",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    /// The best of our languages for an `Accept-Language` header (q-values honoured), English
    /// when none is wanted.
    pub fn from_accept_language(header: &str) -> Locale {
        header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let locale = Locale::parse(pieces.next()?)?;
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (quality > 0.0).then_some((locale, quality))
            })
            // The first of the highest quality wins (max_by keeps the last of equals).
            .rev()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(locale, _)| locale)
            .unwrap_or_default()
    }

    /// `english` in this language; English when a translation is missing (a test makes sure
    /// none is).
    pub fn t(self, english: &'static str) -> &'static str {
        match self {
            Locale::En => english,
            Locale::Fr => french(english).unwrap_or(english),
        }
    }

    /// `t` with `{name}` placeholders filled in.
    pub fn tf(self, english: &'static str, values: &[(&str, &str)]) -> String {
        let mut text = self.t(english).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

/// The locale of the page being rendered (see the module's comment).
pub fn use_locale() -> Locale {
    use_context::<Locale>().unwrap_or_default()
}

/// `english` in the page's language.
pub fn t(english: &'static str) -> &'static str {
    use_locale().t(english)
}

/// `english` in the page's language, `{name}` placeholders filled in.
pub fn tf(english: &'static str, values: &[(&str, &str)]) -> String {
    use_locale().tf(english, values)
}

/// A date chrono wrote in English (`%A %e %B`, `%a %e %b`…) in the page's language: the names
/// of days and months are translated word by word; French writes them in lower case and in the
/// same order (`lundi 3 décembre`).
pub fn dates(english: &str) -> String {
    use_locale().dates(english)
}

impl Locale {
    pub fn dates(self, english: &str) -> String {
        if self == Locale::En {
            return english.to_owned();
        }
        let mut out = String::with_capacity(english.len() + 8);
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if !word.is_empty() {
                out.push_str(french_date_word(word).unwrap_or(word));
                word.clear();
            }
        };
        for c in english.chars() {
            if c.is_ascii_alphabetic() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

/// The French of an English day or month name, full (`Monday`) or short (`Mon`).
fn french_date_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "Monday" => "lundi",
        "Tuesday" => "mardi",
        "Wednesday" => "mercredi",
        "Thursday" => "jeudi",
        "Friday" => "vendredi",
        "Saturday" => "samedi",
        "Sunday" => "dimanche",
        "Mon" => "lun.",
        "Tue" => "mar.",
        "Wed" => "mer.",
        "Thu" => "jeu.",
        "Fri" => "ven.",
        "Sat" => "sam.",
        "Sun" => "dim.",
        "January" => "janvier",
        "February" => "février",
        "March" => "mars",
        "April" => "avril",
        "May" => "mai",
        "June" => "juin",
        "July" => "juillet",
        "August" => "août",
        "September" => "septembre",
        "October" => "octobre",
        "November" => "novembre",
        "December" => "décembre",
        "Jan" => "janv.",
        "Feb" => "févr.",
        "Mar" => "mars",
        "Apr" => "avr.",
        "Jun" => "juin",
        "Jul" => "juil.",
        "Aug" => "août",
        "Sep" => "sept.",
        "Oct" => "oct.",
        "Nov" => "nov.",
        "Dec" => "déc.",
        _ => return None,
    })
}

/// The locale of this request: the signed-in user's, else `Accept-Language`.
#[cfg(feature = "ssr")]
pub fn request_locale() -> Locale {
    if let Some(user) = crate::server::signed_in_user() {
        if let Some(locale) = Locale::parse(&user.locale) {
            return locale;
        }
    }
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .map(Locale::from_accept_language)
        })
        .unwrap_or_default()
}

/// Puts the page's locale in context: from the request on the server, from `<html lang>` (which
/// the server wrote) in the browser.
pub fn provide_locale() {
    #[cfg(feature = "ssr")]
    let locale = request_locale();
    #[cfg(not(feature = "ssr"))]
    let locale = document_locale();
    provide_context(locale);
}

#[cfg(not(feature = "ssr"))]
fn document_locale() -> Locale {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|root| root.get_attribute("lang"))
            .and_then(|lang| Locale::parse(&lang))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    Locale::En
}

/// The French of every UI string, keyed by its English.
fn french(english: &str) -> Option<&'static str> {
    Some(match english {
        // FRENCH-TABLE-START
        "Users" => "Utilisateurs",
        "Teams" => "Équipes",
        "Audit log" => "Journal d’audit",
        "Settings" => "Réglages",
        "Admin" => "Administration",
        "For admins only" => "Réservé aux admins",
        "For admins and ops only" => "Réservé aux admins et aux ops",
        "The server view shows the load, memory, disks and network of the host uHub runs on, to those who run it: admins and ops." => "La vue serveur montre la charge, la mémoire, les disques et le réseau de l’hôte d’uHub à ceux qui l’exploitent : admins et ops.",
        "uHub is busy with other changes; try again in a moment." => "uHub est occupé par d’autres changements ; réessayez dans un instant.",
        "People, teams, the audit log and uHub's settings are managed by its admins: ask one of them for a change here." => "Les personnes, les équipes, le journal d’audit et les réglages d’uHub sont gérés par ses admins : demandez-leur un changement ici.",
        "People, teams, the audit trail and how uHub runs." => "Les personnes, les équipes, la piste d’audit et la configuration d’uHub.",
        "Name" => "Nom",
        "Username" => "Identifiant",
        "Role" => "Rôle",
        "Email" => "E-mail",
        "Status" => "Statut",
        "active" => "actif",
        "deactivated" => "désactivé",
        "Users are created, changed and deactivated through the API (/api/v1/users); see the API reference." => "Les utilisateurs se créent, se modifient et se désactivent par l’API (/api/v1/users) ; voir la référence de l’API.",
        "The users could not be loaded" => "Impossible de charger les utilisateurs",
        "No team yet." => "Aucune équipe pour l’instant.",
        "The teams could not be loaded" => "Impossible de charger les équipes",
        "Action" => "Action",
        "Filter" => "Filtrer",
        "The audit log could not be loaded" => "Impossible de charger le journal d’audit",
        "When" => "Quand",
        "Who" => "Qui",
        "Target" => "Cible",
        "Outcome" => "Résultat",
        "Load older entries" => "Charger les entrées plus anciennes",
        "Time zone (UHUB_TIMEZONE)" => "Fuseau horaire (UHUB_TIMEZONE)",
        "Host sampling (UHUB_METRICS_INTERVAL)" => "Échantillonnage de l’hôte (UHUB_METRICS_INTERVAL)",
        "{n} s" => "{n} s",
        "Public address (UHUB_PUBLIC_URL)" => "Adresse publique (UHUB_PUBLIC_URL)",
        "Settings come from the environment at start; change them there and restart uHub." => "Les réglages viennent de l’environnement au démarrage ; modifiez-les là puis redémarrez uHub.",
        "The settings could not be loaded" => "Impossible de charger les réglages",
        "Profile" => "Profil",
        "How you appear in uHub, and how uHub looks to you." => "Comment vous apparaissez dans uHub, et comment uHub vous apparaît.",
        "Your profile could not be loaded" => "Impossible de charger votre profil",
        "Display name" => "Nom affiché",
        "Theme" => "Thème",
        "Dark" => "Sombre",
        "Light" => "Clair",
        "Same as the system" => "Comme le système",
        "Language" => "Langue",
        "Save" => "Enregistrer",
        "Security" => "Sécurité",
        "Change your password regularly; sessions end when you do." => "Changez régulièrement votre mot de passe ; vos sessions se terminent alors.",
        "Change my password" => "Changer mon mot de passe",
        "All day" => "Toute la journée",
        "Dashboard" => "Tableau de bord",
        "Today in operations" => "Les opérations du jour",
        "What runs, what waits for you, and what is on fire." => "Ce qui tourne, ce qui vous attend, et ce qui brûle.",
        "Open the calendar" => "Ouvrir le calendrier",
        "The dashboard could not be loaded" => "Impossible de charger le tableau de bord",
        "Jobs today" => "Tâches du jour",
        "Runs under way" => "Exécutions en cours",
        "Waiting for approval" => "En attente d’approbation",
        "Open incidents" => "Incidents ouverts",
        "Today" => "Aujourd’hui",
        "Nothing planned today." => "Rien de prévu aujourd’hui.",
        "Plan a job" => "Planifier une tâche",
        "No run is under way." => "Aucune exécution en cours.",
        "Nothing waits for an approval." => "Rien n’attend d’approbation.",
        "run #{id} in {env}" => "exécution n°{id} en {env}",
        "Move of job #{id}" => "Déplacement de la tâche n°{id}",
        "Conflicts" => "Conflits",
        "No conflict in the next 31 days." => "Aucun conflit dans les 31 prochains jours.",
        "with {others}" => "avec {others}",
        "No open incident. Calm seas." => "Aucun incident ouvert. Mer calme.",
        "Server health" => "Santé du serveur",
        "CPU" => "CPU",
        "Memory" => "Mémoire",
        "Fullest disk" => "Disque le plus plein",
        "Open the server view" => "Ouvrir la vue serveur",
        "Next 7 days" => "7 prochains jours",
        "Nothing planned this week." => "Rien de prévu cette semaine.",
        "Calendar" => "Calendrier",
        "{n} jobs" => "{n} tâches",
        "…" => "…",
        "open" => "ouvert",
        "investigating" => "en analyse",
        "mitigated" => "atténué",
        "resolved" => "résolu",
        "closed" => "clos",
        "Incidents" => "Incidents",
        "What went wrong, how bad, where it stands." => "Ce qui a mal tourné, à quel point, où on en est.",
        "Open an incident" => "Ouvrir un incident",
        "Filter by status" => "Filtrer par statut",
        "All" => "Tous",
        "No incident here. When something breaks, open one so the team can follow it." => "Aucun incident ici. Quand quelque chose casse, ouvrez-en un pour que l’équipe le suive.",
        "The incidents could not be loaded" => "Impossible de charger les incidents",
        "Severity" => "Gravité",
        "Title" => "Titre",
        "Detected" => "Détecté",
        "Project" => "Projet",
        "The platform itself" => "La plateforme elle-même",
        "What is happening" => "Ce qui se passe",
        "Cancel" => "Annuler",
        "Open it" => "L’ouvrir",
        "Incident" => "Incident",
        "The incident could not be loaded" => "Impossible de charger l’incident",
        "detected {at}" => "détecté le {at}",
        "Facts" => "Faits",
        "Job" => "Tâche",
        "Owner" => "Responsable",
        "Resolved" => "Résolu",
        "Move it on" => "Faire avancer",
        "The host around this incident" => "L’hôte autour de cet incident",
        "Skip to content" => "Aller au contenu",
        "Main navigation" => "Navigation principale",
        "API reference" => "Référence de l’API",
        "Menu" => "Menu",
        "Search or run a command…" => "Chercher ou lancer une commande…",
        "Account" => "Compte",
        "Log out" => "Se déconnecter",
        "Not found" => "Introuvable",
        "Nothing lives at this address" => "Rien n’existe à cette adresse",
        "The page may have moved, or the link was mistyped." => "La page a peut-être changé d’adresse, ou le lien est mal saisi.",
        "Back to the dashboard" => "Retour au tableau de bord",
        "Change the language" => "Changer de langue",
        "Which job? Type its name…" => "Quelle tâche ? Tapez son nom…",
        "Search projects, jobs, incidents, pages, actions…" => "Chercher projets, tâches, incidents, pages, actions…",
        "Command palette" => "Palette de commandes",
        "Search" => "Recherche",
        "Results" => "Résultats",
        "Type the name of the job to launch." => "Tapez le nom de la tâche à lancer.",
        "Nothing matches. Try fewer letters." => "Aucun résultat. Essayez avec moins de lettres.",
        "to move" => "pour naviguer",
        "to open" => "pour ouvrir",
        "to close" => "pour fermer",
        "Choose a project." => "Choisissez un projet.",
        "New job" => "Nouvelle tâche",
        "Type" => "Type",
        "Environment" => "Environnement",
        "None" => "Aucun",
        "Start" => "Début",
        "Back" => "Retour",
        "Creating…" => "Création…",
        "Create the job" => "Créer la tâche",
        "Git repositories" => "Dépôts Git",
        "Ansible inventories" => "Inventaires Ansible",
        "Terraform plans" => "Plans Terraform",
        "Kubernetes clusters" => "Clusters Kubernetes",
        "Overview" => "Vue d’ensemble",
        "Environments" => "Environnements",
        "Jobs" => "Tâches",
        "Backlog" => "Backlog",
        "Repos & infrastructure" => "Dépôts et infrastructure",
        "Activity" => "Activité",
        "Projects" => "Projets",
        "Edit" => "Modifier",
        "Recent runs" => "Exécutions récentes",
        "Backlog items" => "Éléments du backlog",
        "Execution backend" => "Moteur d’exécution",
        "Created" => "Créé",
        "Coming up" => "À venir",
        "Nothing planned." => "Rien de prévu.",
        "Production" => "Production",
        "yes — guardrails apply" => "oui — garde-fous actifs",
        "no" => "non",
        "No job yet. Press Ctrl+K and choose “New job”." => "Aucune tâche pour l’instant. Appuyez sur Ctrl+K et choisissez « Nouvelle tâche ».",
        "Planned" => "Prévu",
        "The backlog is empty: no task, no milestone." => "Le backlog est vide : aucune tâche, aucun jalon.",
        "Kind" => "Genre",
        "Due" => "Échéance",
        "None linked yet." => "Rien de lié pour l’instant.",
        "No incident on this project." => "Aucun incident sur ce projet.",
        "Nothing has happened yet." => "Rien ne s’est encore passé.",
        "({status})" => "({status})",
        "Everything the team plans and runs, grouped by project." => "Tout ce que l’équipe planifie et exécute, regroupé par projet.",
        "Filter projects" => "Filtrer les projets",
        "Filter by name, owner or environment" => "Filtrer par nom, responsable ou environnement",
        "New project" => "Nouveau projet",
        "No project yet" => "Aucun projet pour l’instant",
        "Create the first one with “New project”, or start uHub with UHUB_SEED_DEMO=true to load the demo projects." => "Créez le premier avec « Nouveau projet », ou démarrez uHub avec UHUB_SEED_DEMO=true pour charger les projets de démonstration.",
        "{n} projects" => "{n} projets",
        "{shown} of {n} projects" => "{shown} projets sur {n}",
        "No project matches “{filter}”." => "Aucun projet ne correspond à « {filter} ».",
        "Next job {at}" => "Prochaine tâche {at}",
        "Nothing planned" => "Rien de prévu",
        "1 job" => "1 tâche",
        "Schedule" => "Planning",
        "Loading projects" => "Chargement des projets",
        "The projects could not be loaded" => "Impossible de charger les projets",
        "Edit the project" => "Modifier le projet",
        "Description" => "Description",
        "Colour" => "Couleur",
        "Environments (comma-separated)" => "Environnements (séparés par des virgules)",
        "Create the project" => "Créer le projet",
        "The project could not be loaded" => "Impossible de charger le projet",
        "Host around this run" => "L’hôte autour de cette exécution",
        "Loading" => "Chargement",
        "Sections" => "Sections",
        "Server" => "Serveur",
        "New incident" => "Nouvel incident",
        "Launch a job…" => "Lancer une tâche…",
        "Go to the calendar" => "Aller au calendrier",
        "Colour the calendar by project" => "Colorer le calendrier par projet",
        "Colour the calendar by type" => "Colorer le calendrier par type",
        "Colour the calendar by status" => "Colorer le calendrier par statut",
        "Switch to the dark theme" => "Passer au thème sombre",
        "Switch to the light theme" => "Passer au thème clair",
        "Pages" => "Pages",
        "Actions" => "Actions",
        "Recent" => "Récents",
        "Invalid username or password." => "Identifiant ou mot de passe incorrect.",
        "Too many failed attempts. Try again in {seconds} seconds." => "Trop de tentatives échouées. Réessayez dans {seconds} secondes.",
        "uHub could not sign you in right now; try again shortly." => "uHub ne peut pas vous connecter pour le moment ; réessayez sous peu.",
        "Log in" => "Se connecter",
        "Plan, run and trace your operations." => "Planifiez, exécutez et tracez vos opérations.",
        "Password" => "Mot de passe",
        "The two new passwords differ." => "Les deux nouveaux mots de passe diffèrent.",
        "The current password is not right." => "Le mot de passe actuel est incorrect.",
        "The new password must have at least {n} characters, differ from the current one, and be neither the username nor the initial password." => "Le nouveau mot de passe doit compter au moins {n} caractères, différer de l’actuel, et n’être ni l’identifiant ni le mot de passe initial.",
        "uHub could not change the password right now; try again shortly." => "uHub ne peut pas changer le mot de passe pour le moment ; réessayez sous peu.",
        "Change password" => "Changer le mot de passe",
        "Choose a new password" => "Choisissez un nouveau mot de passe",
        "Before going on, replace the password you were given with one only you know." => "Avant de continuer, remplacez le mot de passe qui vous a été donné par un que vous seul connaissez.",
        "Current password" => "Mot de passe actuel",
        "New password" => "Nouveau mot de passe",
        "New password, again" => "Confirmez le nouveau mot de passe",
        "running" => "en cours",
        "The job could not be loaded" => "Impossible de charger la tâche",
        "no action: this job cannot be run" => "aucune action : cette tâche ne peut pas être exécutée",
        "no environment" => "aucun environnement",
        "planned {at}" => "prévue le {at}",
        "Launch" => "Lancer",
        "{name} (production)" => "{name} (production)",
        "Backend" => "Moteur",
        "Launching…" => "Lancement…",
        "Production runs wait for the approval of an admin or the project's owner (never the person who asked)." => "Les exécutions en production attendent l’approbation d’un admin ou du responsable du projet (jamais de la personne qui l’a demandée).",
        "In the queue" => "Dans la file",
        "Choose a backend" => "Choisir un moteur",
        "#{position}: {reason}" => "n° {position} : {reason}",
        "Waiting for the webhook's callback until" => "Attend le rappel du webhook jusqu’au",
        "What will run if approved" => "Ce qui s’exécutera si c’est approuvé",
        "What runs" => "Ce qui s’exécute",
        "SHA-256 of the action, backend and environment, fixed at launch" => "SHA-256 de l’action, du moteur et de l’environnement, fixé au lancement",
        "Too many failed attempts. Try again in a few seconds." => "Trop de tentatives échouées. Réessayez dans quelques secondes.",
        "Runs" => "Exécutions",
        "Never run yet." => "Jamais exécutée pour l’instant.",
        "Run" => "Exécution",
        "By" => "Par",
        "Started" => "Démarrage",
        "Duration" => "Durée",
        "The run could not be loaded" => "Impossible de charger l’exécution",
        "Run #{id}" => "Exécution n°{id}",
        "Comment (optional)" => "Commentaire (facultatif)",
        "Approve" => "Approuver",
        "Reject" => "Rejeter",
        "Launched by" => "Lancée par",
        "Finished" => "Fin",
        "Exit code" => "Code de sortie",
        "Reason" => "Motif",
        "Log" => "Journal",
        "Search the log" => "Chercher dans le journal",
        "{n} lines" => "{n} lignes",
        "Jump to the end" => "Aller à la fin",
        "1 h" => "1 h",
        "6 h" => "6 h",
        "24 h" => "24 h",
        "7 d" => "7 j",
        "30 d" => "30 j",
        "History window" => "Période de l’historique",
        "The server view could not be loaded" => "Impossible de charger la vue serveur",
        "{label}: {percent}% used" => "{label} : {percent} % utilisé",
        "No reading stored for this window yet." => "Aucune mesure enregistrée pour cette période pour l’instant.",
        "{title}, from {from} to {to}" => "{title}, du {from} au {to}",
        "Read at {at} · every {n} s · thresholds {warn}% / {alert}%" => "Mesuré à {at} · toutes les {n} s · seuils {warn} % / {alert} %",
        "{n} cores · load {one} {five} {fifteen}" => "{n} cœurs · charge {one} {five} {fifteen}",
        "{used} of {total}" => "{used} sur {total}",
        "Swap" => "Swap",
        "no swap" => "pas de swap",
        "{free} free of {total} · {fs}" => "{free} libres sur {total} · {fs}",
        "Cores" => "Cœurs",
        "Per core" => "Par cœur",
        "CPU and memory" => "CPU et mémoire",
        "Disk" => "Disque",
        "Network" => "Réseau",
        "Interface" => "Interface",
        "Received" => "Reçu",
        "Sent" => "Envoyé",
        "Total received" => "Total reçu",
        "Total sent" => "Total envoyé",
        "Every route of" => "Chaque route de",
        "generated from the server's code. The machine-readable document is" => "générée à partir du code du serveur. Le document lisible par machine est",
        "Filter endpoints" => "Filtrer les points d’accès",
        "Filter by path, method or words" => "Filtrer par chemin, méthode ou mots",
        "Loading the API reference" => "Chargement de la référence de l’API",
        "The API reference could not be loaded" => "Impossible de charger la référence de l’API",
        "{n} endpoints · version {version}" => "{n} points d’accès · version {version}",
        "{shown} of {n} endpoints" => "{shown} points d’accès sur {n}",
        "No endpoint matches “{filter}”." => "Aucun point d’accès ne correspond à « {filter} ».",
        "Schemas" => "Schémas",
        "required" => "obligatoire",
        "public" => "public",
        "Parameters" => "Paramètres",
        "Body" => "Corps",
        "as" => "au format",
        "Answers" => "Réponses",
        "Fields" => "Champs",
        "Month" => "Mois",
        "Week" => "Semaine",
        "Day" => "Jour",
        "Agenda" => "Agenda",
        "The calendar could not be loaded" => "Impossible de charger le calendrier",
        "all day" => "toute la journée",
        "Hours" => "Heures",
        "Someone else changed this job meanwhile: the calendar was reloaded, try again." => "Quelqu’un d’autre a modifié cette tâche entre-temps : le calendrier a été rechargé, réessayez.",
        "Not moved: {message}. Move it alone (nothing else changed) to request approval." => "Pas déplacée : {message}. Déplacez-la seule (sans rien changer d’autre) pour demander une approbation.",
        "Not moved: {message}" => "Pas déplacée : {message}",
        "Your session has ended; log in again." => "Votre session a pris fin ; reconnectez-vous.",
        "Moving “{title}”…" => "Déplacement de « {title} »…",
        "Move of “{title}” to {at} requested: a production job moves once a projets or admin user approves." => "Déplacement de « {title} » au {at} demandé : une tâche de production ne bouge qu’une fois approuvée par un utilisateur projets ou admin.",
        "“{title}” moved to {at}." => "Tâche « {title} » déplacée au {at}.",
        "Times in" => "Heures du fuseau",
        "drag a job to move it, drag its lower edge to resize; with the keyboard: arrows move, Shift+↑↓ resize, Enter confirms, Esc cancels." => "faites glisser une tâche pour la déplacer, son bord inférieur pour la redimensionner ; au clavier : les flèches déplacent, Maj+↑↓ redimensionne, Entrée confirme, Échap annule.",
        "Move of “{title}” approved: the job moved." => "Déplacement de « {title} » approuvé : la tâche a été déplacée.",
        "Move of “{title}” rejected: the job stays." => "Déplacement de « {title} » rejeté : la tâche reste en place.",
        "Move request for “{title}” withdrawn." => "Demande de déplacement de « {title} » retirée.",
        "“{title}” changed after the request: the request no longer applies." => "« {title} » a changé après la demande : la demande ne s’applique plus.",
        "Not done: {message}" => "Non effectué : {message}",
        "Production moves waiting for approval" => "Déplacements en production en attente d’approbation",
        "Your move requests" => "Vos demandes de déplacement",
        "asked by {user}" => "demandé par {user}",
        "a former user" => "un ancien utilisateur",
        "Withdraw" => "Retirer",
        "Previous" => "Précédent",
        "Next" => "Suivant",
        "Go to date" => "Aller à la date",
        "View" => "Vue",
        "Subscribe" => "S’abonner",
        "Legend" => "Légende",
        "conflict" => "conflit",
        "Move to {at} requested by {by}, waiting for approval" => "Déplacement au {at} demandé par {by}, en attente d’approbation",
        "Resolve the conflict" => "Résoudre le conflit",
        "Conflicts with" => "En conflit avec",
        "job #{id}" => "tâche n°{id}",
        "Mon" => "lun.",
        "Tue" => "mar.",
        "Wed" => "mer.",
        "Thu" => "jeu.",
        "Fri" => "ven.",
        "Sat" => "sam.",
        "Sun" => "dim.",
        "+{n} more" => "+{n} autres",
        "Show less" => "Afficher moins",
        "Nothing planned this month" => "Rien de prévu ce mois-ci",
        "Jobs created in a project appear here on their planned day." => "Les tâches créées dans un projet apparaissent ici à leur date prévue.",
        "Conflicts with {names}" => "En conflit avec {names}",
        "Resolve" => "Résoudre",
        "“{title}” overlaps {others}." => "« {title} » chevauche {others}.",
        "Free slots of the same length in the same environment:" => "Créneaux libres de même durée dans le même environnement :",
        "Looking for free slots…" => "Recherche de créneaux libres…",
        "No free slot in the next 60 days." => "Aucun créneau libre dans les 60 prochains jours.",
        "Close" => "Fermer",
        "Subscribe in a calendar application" => "S’abonner depuis une application d’agenda",
        "A private, read-only iCal address for Google Calendar, Outlook or Thunderbird. Anyone holding it sees the plan: revoke it when it is no longer needed." => "Une adresse iCal privée, en lecture seule, pour Google Agenda, Outlook ou Thunderbird. Quiconque la détient voit le planning : révoquez-la quand elle n’est plus utile.",
        "Mine (jobs I own)" => "Les miennes (tâches dont je suis responsable)",
        "Project {name}" => "Projet {name}",
        "Create address" => "Créer une adresse",
        "Copy this address now: it will not be shown again." => "Copiez cette adresse maintenant : elle ne sera plus affichée.",
        "Loading your feeds…" => "Chargement de vos flux…",
        "No live feed yet." => "Aucun flux actif pour l’instant.",
        "My jobs" => "Mes tâches",
        "last read {at}" => "dernière lecture le {at}",
        "never read yet" => "jamais lu pour l’instant",
        "Revoke" => "Révoquer",
        "A job without an action is planned on the calendar but cannot be launched." => "Une tâche sans action figure au calendrier mais ne peut pas être lancée.",
        "Add a link" => "Ajouter un lien",
        "Add a member" => "Ajouter un membre",
        "Add a member…" => "Ajouter un membre…",
        "Add an environment" => "Ajouter un environnement",
        "Add" => "Ajouter",
        "Ansible inventory" => "Inventaire Ansible",
        "Archive the project" => "Archiver le projet",
        "Archive" => "Archiver",
        "Archived, the project keeps its history but takes no new work until it is reopened." => "Archivé, le projet garde son historique mais ne prend plus de nouveau travail tant qu’il n’est pas rouvert.",
        "Arguments, one per line" => "Arguments, un par ligne",
        "Ask to run (needs approval)" => "Demander l’exécution (approbation requise)",
        "Assignee" => "Responsable",
        "CPU, memory, process and network limits come from the project's execution settings." => "Les limites de CPU, de mémoire, de processus et de réseau viennent des réglages d’exécution du projet.",
        "CPUs" => "Processeurs",
        "Command, one argument per line (empty: the image's own)" => "Commande, un argument par ligne (vide : celle de l’image)",
        "Container" => "Conteneur",
        "Containers (docker)" => "Conteneurs (docker)",
        "Create the user" => "Créer l’utilisateur",
        "Create" => "Créer",
        "Deactivate" => "Désactiver",
        "Default branch" => "Branche par défaut",
        "Default image" => "Image par défaut",
        "Delete the job" => "Supprimer la tâche",
        "Delete this job? It was never run; nothing else is lost." => "Supprimer cette tâche ? Elle n’a jamais été exécutée ; rien d’autre n’est perdu.",
        "Delete" => "Supprimer",
        "Docker container" => "Conteneur Docker",
        "Done" => "Fait",
        "Download the log" => "Télécharger le journal",
        "Edit the item" => "Modifier l’élément",
        "Edit the job" => "Modifier la tâche",
        "Edit the link" => "Modifier le lien",
        "Email (optional)" => "E-mail (facultatif)",
        "End (optional: one hour)" => "Fin (facultative : une heure)",
        "Every run" => "Toutes les exécutions",
        "Execution backend (a job's action picks its own; this is the default)" => "Moteur d’exécution (l’action d’une tâche choisit le sien ; voici celui par défaut)",
        "First day" => "Premier jour",
        "Flag production" => "Marquer production",
        "Generic" => "Générique",
        "Git ref (branch or tag) the pipeline runs on" => "Référence Git (branche ou tag) sur laquelle le pipeline s’exécute",
        "Git repository" => "Dépôt Git",
        "GitHub Actions (workflow_dispatch)" => "GitHub Actions (workflow_dispatch)",
        "GitLab pipeline trigger" => "Déclencheur de pipeline GitLab",
        "Give containers a network (off: no network at all)" => "Donner un réseau aux conteneurs (désactivé : aucun réseau)",
        "Give {user} this one-time password. It is shown only now; they choose their own at their first login." => "Donnez à {user} ce mot de passe à usage unique. Il n’est affiché que maintenant ; la personne choisit le sien à sa première connexion.",
        "Image (present on the Docker engine: uHub pulls nothing)" => "Image (présente sur le moteur Docker : uHub ne télécharge rien)",
        "Inputs, one name=value per line" => "Entrées, une par ligne sous la forme nom=valeur",
        "Keep it" => "La garder",
        "Kind of action" => "Type d’action",
        "Kubernetes (not available yet)" => "Kubernetes (pas encore disponible)",
        "Kubernetes cluster" => "Cluster Kubernetes",
        "Last day (optional)" => "Dernier jour (facultatif)",
        "Location (URL or path; no credentials)" => "Emplacement (URL ou chemin ; sans identifiants)",
        "Me" => "Moi",
        "Memory (MiB)" => "Mémoire (Mio)",
        "Move down" => "Descendre",
        "Move up" => "Monter",
        "Name (becomes the variable)" => "Nom (devient la variable)",
        "Namespace" => "Espace de noms",
        "New job on {date}" => "Nouvelle tâche le {date}",
        "New name" => "Nouveau nom",
        "New task or milestone" => "Nouvelle tâche ou nouveau jalon",
        "New team" => "Nouvelle équipe",
        "New user" => "Nouvel utilisateur",
        "No job yet." => "Aucune tâche pour l’instant.",
        "No member yet." => "Aucun membre pour l’instant.",
        "No secret yet." => "Aucun secret pour l’instant.",
        "Nobody" => "Personne",
        "Not a date." => "Ce n’est pas une date.",
        "Nothing (planned only)" => "Rien (planifiée seulement)",
        "Only an admin or the project's owner gives a job to someone else." => "Seul un admin ou le propriétaire du projet confie une tâche à quelqu’un d’autre.",
        "Only an admin takes {name} out of production." => "Seul un admin sort {name} de la production.",
        "Other" => "Autre",
        "Preset" => "Modèle",
        "Processes" => "Processus",
        "Production: runs need an isolated backend and an approval" => "Production : les exécutions exigent un moteur isolé et une approbation",
        "Provider" => "Fournisseur",
        "Reaches" => "Atteint",
        "Reactivate" => "Réactiver",
        "Remove" => "Retirer",
        "Removed only while no job, run, link or secret uses it" => "Supprimable seulement tant qu’aucune tâche, exécution, lien ou secret ne l’utilise",
        "Rename" => "Renommer",
        "Reopen the project" => "Rouvrir le projet",
        "Reopen" => "Rouvrir",
        "Reopened, the project takes new jobs, environments, backlog items and links again." => "Rouvert, le projet accepte de nouveau des tâches, des environnements, des éléments de backlog et des liens.",
        "Reset password" => "Réinitialiser le mot de passe",
        "Responsible role" => "Rôle responsable",
        "Run again" => "Relancer",
        "SEV1 critical" => "SEV1 critique",
        "SEV2 major" => "SEV2 majeur",
        "SEV3 minor" => "SEV3 mineur",
        "SEV4 low" => "SEV4 faible",
        "SSH (not available yet)" => "SSH (pas encore disponible)",
        "Saved." => "Enregistré.",
        "Saving…" => "Enregistrement…",
        "Script (in the scripts directory)" => "Script (dans le dossier des scripts)",
        "Script" => "Script",
        "Secret holding the key or token" => "Secret contenant la clé ou le jeton",
        "Secrets reach runs as environment variables and are masked in logs. A secret of one environment reaches only that environment's runs; production runs always pass an approval." => "Les secrets parviennent aux exécutions en variables d’environnement et sont masqués dans les journaux. Le secret d’un environnement n’atteint que les exécutions de cet environnement ; les exécutions de production passent toujours par une approbation.",
        "Secrets" => "Secrets",
        "Set a secret" => "Définir un secret",
        "Start by itself at its planned time (as me)" => "Démarrer seule à l’heure prévue (en mon nom)",
        "Target URL (internal addresses need UHUB_WEBHOOK_ALLOWED_HOSTS)" => "URL cible (les adresses internes exigent UHUB_WEBHOOK_ALLOWED_HOSTS)",
        "Team name" => "Nom de l’équipe",
        "Terraform plan" => "Plan Terraform",
        "The move of this production job waits for the approval of an admin or the project's owner." => "Le déplacement de cette tâche de production attend l’approbation d’un admin ou du propriétaire du projet.",
        "The project is archived: nothing new runs in it." => "Le projet est archivé : rien de nouveau n’y est exécuté.",
        "The project's owner and admins change its settings." => "Le propriétaire du projet et les admins en modifient les réglages.",
        "The scripts directory is empty: put scripts in UHUB_SCRIPTS_DIR on the server." => "Le dossier des scripts est vide : déposez des scripts dans UHUB_SCRIPTS_DIR sur le serveur.",
        "The secrets could not be loaded" => "Les secrets n’ont pas pu être chargés",
        "The target, its preset (generic, GitHub Actions, GitLab) and its key are the project's execution settings." => "La cible, son modèle (générique, GitHub Actions, GitLab) et sa clé sont les réglages d’exécution du projet.",
        "There is no project where you may plan a job." => "Il n’y a aucun projet où vous pouvez planifier une tâche.",
        "This file is not executable: the run will fail until it is (chmod +x)." => "Ce fichier n’est pas exécutable : l’exécution échouera tant qu’il ne l’est pas (chmod +x).",
        "This job has no action yet: it is planned only. Edit it to choose what it runs." => "Cette tâche n’a pas encore d’action : elle est seulement planifiée. Modifiez-la pour choisir ce qu’elle exécute.",
        "Timeout in seconds (empty: one hour)" => "Délai maximal en secondes (vide : une heure)",
        "Times are in uHub's time zone, {zone}." => "Les heures sont dans le fuseau d’uHub, {zone}.",
        "Unflag production" => "Retirer de la production",
        "Updated" => "Mis à jour",
        "Value (never shown again)" => "Valeur (plus jamais affichée)",
        "Wait for the callback (seconds, empty: 900)" => "Attente du rappel (secondes, vide : 900)",
        "Webhook / CI pipeline" => "Webhook / pipeline CI",
        "What it runs" => "Ce qu’elle exécute",
        "Where runs go" => "Où vont les exécutions",
        "admin" => "admin",
        "archived" => "archivé",
        "awaiting approval" => "en attente d’approbation",
        "canceled" => "annulée",
        "dev" => "dev",
        "development" => "développement",
        "done" => "fait",
        "every run of the project" => "toutes les exécutions du projet",
        "failed" => "échouée",
        "generic (signed JSON)" => "générique (JSON signé)",
        "in progress" => "en cours",
        "infrastructure" => "infrastructure",
        "local script" => "script local",
        "maintenance" => "maintenance",
        "meeting" => "réunion",
        "milestone" => "jalon",
        "must choose a password" => "doit choisir un mot de passe",
        "not executable" => "non exécutable",
        "operations" => "exploitation",
        "ops" => "ops",
        "planned" => "planifiée",
        "projets" => "projets",
        "queued" => "en file",
        "serverless (not available yet)" => "serverless (pas encore disponible)",
        "succeeded" => "réussie",
        "task" => "tâche",
        "timed out" => "délai dépassé",
        "to do" => "à faire",
        "uHub makes a one-time password for the first login; the person then chooses their own." => "uHub crée un mot de passe à usage unique pour la première connexion ; la personne choisit ensuite le sien.",
        "webhook" => "webhook",
        "by project" => "par projet",
        "by type" => "par type",
        "by status" => "par statut",
        "Filters" => "Filtres",
        "Another colour" => "Une autre couleur",
        "None chosen: uHub picks the palette's first colour no project uses." => "Aucune choisie : uHub prend la première couleur de la palette qu’aucun projet n’utilise.",
        "and {n} more in the agenda" => "et {n} de plus dans l’agenda",
        "Your own role is changed by another admin." => "Votre propre rôle est modifié par un autre admin.",
        "What and when" => "Quoi et quand",
        "Planned on the calendar; with an action, it can be launched." => "Planifiée au calendrier ; avec une action, elle peut être lancée.",
        "only an admin may do this" => "seul un admin peut faire cela",
        "the server view is for admin and ops" => "la vue serveur est réservée aux admin et ops",
        "projects are created and managed by projets (PM / PO) and admin" => "les projets sont créés et gérés par projets (PM / PO) et admin",
        "projets manage the projects they own (or that have no owner)" => "projets gèrent les projets dont ils sont propriétaires (ou sans propriétaire)",
        "dev may plan and move dev jobs in non-production environments only" => "dev ne planifie et ne déplace que des tâches dev hors production",
        "ops may plan and move ops, maintenance and infra jobs only" => "ops ne planifie et ne déplace que des tâches ops, maintenance et infra",
        "moving a production job needs the approval of projets or admin" => "déplacer une tâche de production demande l’approbation de projets ou d’un admin",
        "only projets (on their projects) and admin delete jobs" => "seuls projets (sur leurs projets) et admin suppriment des tâches",
        "dev may launch build and test runs of dev jobs in non-production environments only" => "dev ne lance que des exécutions de build et de test de tâches dev hors production",
        "ops launch runs of ops, maintenance and infra jobs" => "ops lance les exécutions des tâches ops, maintenance et infra",
        "ops run in staging and production through docker, k8s or webhook backends only" => "en staging et en production, ops n’exécute que par les moteurs docker, k8s ou webhook",
        "runs are launched by dev, ops and admin; projets approve them" => "les exécutions sont lancées par dev, ops et admin ; projets les approuvent",
        "a production run needs a docker, k8s or webhook backend; local is refused in production" => "une exécution de production exige un moteur docker, k8s ou webhook ; local est refusé en production",
        "a production run waits for the approval of projets or admin" => "une exécution de production attend l’approbation de projets ou d’un admin",
        "only projets and admin approve production changes" => "seuls projets et admin approuvent les changements de production",
        "projets approve the changes of the projects they own; admin approve any" => "projets approuvent les changements de leurs projets ; admin approuve tout",
        "a change cannot be approved by the person who asked for it or who last changed what it runs" => "un changement ne peut pas être approuvé par la personne qui l’a demandé ni par celle qui a modifié en dernier ce qu’il exécute",
        "only admin and the project's owner give a job to someone else" => "seuls admin et le propriétaire du projet confient une tâche à quelqu’un d’autre",
        "what a production job runs, and where, is changed by admin or the project's owner only" => "ce qu’exécute une tâche de production, et où, n’est modifié que par admin ou le propriétaire du projet",
        "a move request is withdrawn by whoever asked for it; projets and admin reject it" => "une demande de déplacement est retirée par qui l’a faite ; projets et admin la rejettent",
        "a run is cancelled by whoever launched it, the project's owner among projets, or admin" => "une exécution est annulée par qui l’a lancée, par le propriétaire du projet parmi projets, ou par admin",
        "incidents are managed by ops, projets and admin" => "les incidents sont gérés par ops, projets et admin",
        "only an admin takes an environment out of production (unflags, renames or deletes it)" => "seul un admin sort un environnement de la production (le démarque, le renomme ou le supprime)",
        "incidents are history: only an admin removes one opened by mistake" => "les incidents sont de l’histoire : seul un admin supprime celui ouvert par erreur",
        "commits and merge requests are linked by dev, projets and admin" => "les commits et merge requests sont liés par dev, projets et admin",
        "Something went wrong on the server; the details are in its log." => "Une erreur s’est produite sur le serveur ; les détails sont dans son journal.",
        "text: must not contain NUL (U+0000) characters" => "texte : ne doit pas contenir de caractère NUL (U+0000)",
        "The secret store (Vault) is unavailable or refused uHub's token; the details are in the server log." => "Le coffre de secrets (Vault) est indisponible ou a refusé le jeton d’uHub ; les détails sont dans le journal du serveur.",
        "invalid username or password" => "identifiant ou mot de passe incorrect",
        "this account must change its password first" => "ce compte doit d’abord changer son mot de passe",
        "the project is archived: set its state back to active to change its work" => "le projet est archivé : remettez-le actif pour modifier son travail",
        "{what} not found" => "introuvable : {what}",
        "{field} is already taken" => "{field} est déjà pris",
        "{what} was changed by someone else (version {current} is current): reload it" => "{what} a été modifié par quelqu’un d’autre (la version {current} est l’actuelle) : rechargez",
        "too many failed logins; try again in {seconds} s" => "trop de connexions échouées ; réessayez dans {seconds} s",
        "Secret signing its webhooks (a project secret's name)" => "Secret qui signe ses webhooks (nom d’un secret du projet)",
        "Code changes" => "Changements de code",
        "Loading…" => "Chargement…",
        "No commit or merge request names this job yet: write UHUB-{id} in a commit message, a branch name or a merge request's title." => "Aucun commit ni merge request ne nomme encore cette tâche : écrivez UHUB-{id} dans un message de commit, un nom de branche ou le titre d’une merge request.",
        "commit" => "commit",
        "merge request" => "merge request",
        "The code changes could not be loaded" => "Les changements de code n’ont pas pu être chargés",
        "Webhook and deliveries" => "Webhook et livraisons",
        "Point the repository's webhook (JSON) at" => "Faites pointer le webhook (JSON) du dépôt vers",
        ", signed with the secret this link names." => ", signé avec le secret que nomme ce lien.",
        ": name a project secret on this link first, or every delivery is refused." => " : nommez d’abord un secret du projet sur ce lien, sinon toute livraison est refusée.",
        "No delivery yet." => "Aucune livraison pour l’instant.",
        "{n} linked" => "{n} liés",
        "Code" => "Code",
        "No Git repository is linked yet: add one in Repos & infrastructure, and name a job's UHUB-<id> in commits to see them here." => "Aucun dépôt Git n’est encore lié : ajoutez-en un dans Dépôts et infrastructure, et nommez UHUB-<id> d’une tâche dans les commits pour les voir ici.",
        "Reading the repository…" => "Lecture du dépôt…",
        "Branches" => "Branches",
        "Latest commits" => "Derniers commits",
        "No commit yet." => "Aucun commit pour l’instant.",
        "Unlink" => "Délier",
        "Repository" => "Dépôt",
        "Commit SHA or !merge request" => "SHA du commit ou !merge request",
        "Link" => "Lier",
        "SHA-256 of the action, backend, environment and commit, fixed at launch" => "SHA-256 de l’action, du moteur, de l’environnement et du commit, fixé au lancement",
        "Run again at this commit" => "Relancer à ce commit",
        "Commit" => "Commit",
        "Files from" => "Fichiers depuis",
        "The scripts directory" => "Le répertoire des scripts",
        "The image alone" => "L’image seule",
        "Repository {name}" => "Dépôt {name}",
        "Branch, tag or SHA (empty: the default branch), fixed to a commit at launch" => "Branche, tag ou SHA (vide : la branche par défaut), fixé à un commit au lancement",
        "Script (path in the repository)" => "Script (chemin dans le dépôt)",
        "Deployments" => "Déploiements",
        "Nothing deployed from a repository yet: a job whose script or container comes from a repository records its commit when it runs." => "Rien n’a encore été déployé depuis un dépôt : un job dont le script ou le conteneur vient d’un dépôt enregistre son commit quand il s’exécute.",
        "first deployment here" => "premier déploiement ici",
        "{n} commit(s) since the previous one" => "{n} commit(s) depuis le précédent",
        "Replay" => "Rejouer",
        "the same commit as the previous one" => "le même commit que le précédent",
        "Secret holding its API / HTTPS token (a project secret's name)" => "Secret contenant son jeton d’API / HTTPS (le nom d’un secret du projet)",
        "Report runs as commit statuses (GitHub, GitLab)" => "Publier les exécutions comme statuts de commit (GitHub, GitLab)",
        "protected" => "protégée",
        "Open merge requests" => "Merge requests ouvertes",
        "No open merge request." => "Aucune merge request ouverte.",
        "CI: {status}" => "CI : {status}",
        "Commits" => "Commits",
        "Merge requests" => "Merge requests",
        "Git identity" => "Identité Git",
        "Your own tokens show your pull and merge requests and commits on the dashboard. They are kept in the secret store and never shown again." => "Vos propres jetons affichent vos pull et merge requests et vos commits sur le tableau de bord. Ils sont gardés dans le coffre de secrets et ne sont plus jamais affichés.",
        "Your tokens could not be read" => "Vos jetons n’ont pas pu être lus",
        "{provider} token (set {when})" => "Jeton {provider} (défini le {when})",
        "{provider} token (none)" => "Jeton {provider} (aucun)",
        "a new token replaces it" => "un nouveau jeton le remplace",
        "a personal access token" => "un jeton d’accès personnel",
        "My changes" => "Mes changements",
        "Add your GitHub or GitLab token on your profile to see your pull and merge requests and commits here." => "Ajoutez votre jeton GitHub ou GitLab sur votre profil pour voir ici vos pull et merge requests et vos commits.",
        "Nothing of yours in the team's repositories yet." => "Rien de vous dans les dépôts de l’équipe pour l’instant.",
        "{repository} could not be read: {why}" => "{repository} n’a pas pu être lu : {why}",
        "from repository #{repo} at {ref} " => "du dépôt n° {repo} à {ref} ",
        "its default branch" => "sa branche par défaut",
        "{source}script {path} {args}" => "{source}script {path} {args}",
        "{source}container {image} {command}" => "{source}conteneur {image} {command}",
        "webhook ref {ref} {inputs}" => "webhook réf. {ref} {inputs}",
        " (check mode)" => " (mode vérification)",
        "1 host" => "1 hôte",
        "A file of a repository" => "Un fichier d’un dépôt",
        "After" => "Après",
        "An inventory is analysed as Ansible reads it, and kept version by version. A playbook job uses an inventory of its own environment, pinned at launch." => "Un inventaire est analysé comme Ansible le lit, et conservé version par version. Une tâche playbook utilise un inventaire de son propre environnement, figé au lancement.",
        "Analyse and record" => "Analyser et enregistrer",
        "Analysing…" => "Analyse…",
        "Ansible playbook" => "Playbook Ansible",
        "Ansible" => "Ansible",
        "Before" => "Avant",
        "Branch, tag or SHA (empty: the default branch)" => "Branche, tag ou SHA (vide : la branche par défaut)",
        "Changes up to version {v}, from" => "Changements jusqu’à la version {v}, depuis",
        "Check mode (report what would change, change nothing)" => "Mode vérification (dire ce qui changerait, ne rien changer)",
        "Choose an inventory" => "Choisir un inventaire",
        "Extra variables (a JSON object; secrets belong in the project's secrets)" => "Variables supplémentaires (un objet JSON ; les secrets vont dans les secrets du projet)",
        "File" => "Fichier",
        "Filter hosts" => "Filtrer les hôtes",
        "Groups added" => "Groupes ajoutés",
        "Groups removed" => "Groupes retirés",
        "Groups" => "Groupes",
        "Host" => "Hôte",
        "Hosts added" => "Hôtes ajoutés",
        "Hosts of {group}" => "Hôtes de {group}",
        "Hosts removed" => "Hôtes retirés",
        "Hosts" => "Hôtes",
        "Inventory (INI or YAML; up to 1 MiB here, 8 MiB through the API)" => "Inventaire (INI ou YAML ; jusqu’à 1 Mio ici, 8 Mio par l’API)",
        "Inventory (of the job's environment)" => "Inventaire (de l’environnement de la tâche)",
        "Inventory links" => "Liens d’inventaire",
        "Inventory" => "Inventaire",
        "Limit (host pattern, empty: every host)" => "Limite (motif d’hôtes, vide : tous les hôtes)",
        "Lint" => "Contrôles",
        "Merged the way Ansible merges them (all, parent groups, child groups, the host itself). Values of variables named like secrets are masked." => "Fusionnées comme Ansible les fusionne (all, groupes parents, groupes enfants, l’hôte lui-même). Les valeurs des variables nommées comme des secrets sont masquées.",
        "No difference." => "Aucune différence.",
        "No inventory yet." => "Pas encore d’inventaire.",
        "No variable." => "Aucune variable.",
        "Nothing to report." => "Rien à signaler.",
        "Paste the text" => "Coller le texte",
        "Playbook (in the scripts directory)" => "Playbook (dans le dossier des scripts)",
        "Playbook (path in the repository)" => "Playbook (chemin dans le dépôt)",
        "Record an inventory" => "Enregistrer un inventaire",
        "Recorded as links before uHub analysed inventories: paths only, never read. Record them below to analyse them." => "Enregistrés comme liens avant qu’uHub n’analyse les inventaires : des chemins seulement, jamais lus. Enregistrez-les ci-dessous pour les analyser.",
        "Recorded" => "Enregistrée",
        "Show diffs" => "Montrer les différences",
        "Skip tags" => "Tags à sauter",
        "Source" => "Source",
        "Tags (comma-separated)" => "Tags (séparés par des virgules)",
        "Tasks" => "Tâches Ansible",
        "The changes could not be loaded" => "Les changements n’ont pas pu être chargés",
        "The inventories could not be loaded" => "Les inventaires n’ont pas pu être chargés",
        "The inventory could not be loaded" => "L’inventaire n’a pas pu être chargé",
        "The playbook reported no result (it did not start, or stopped before its first task): see the log." => "Le playbook n’a rapporté aucun résultat (il n’a pas démarré, ou s’est arrêté avant sa première tâche) : voir le journal.",
        "The recap appears when the playbook ends." => "Le récapitulatif apparaît quand le playbook se termine.",
        "The same name again records a new version; an inventory keeps its environment." => "Le même nom enregistre une nouvelle version ; un inventaire garde son environnement.",
        "This inventory has no host." => "Cet inventaire n’a aucun hôte.",
        "Value" => "Valeur",
        "Variable" => "Variable",
        "Variables of {host}" => "Variables de {host}",
        "Version" => "Version",
        "Versions" => "Versions",
        "What check run #{id} predicted" => "Ce que l’exécution de vérification #{id} a prévu",
        "Where the inventory comes from" => "D’où vient l’inventaire",
        "any (no environment)" => "tous (aucun environnement)",
        "any" => "tous",
        "changed" => "modifié",
        "check mode: nothing was changed" => "mode vérification : rien n’a été modifié",
        "every host" => "tous les hôtes",
        "follows check run #{id}" => "suit l’exécution de vérification #{id}",
        "ignored" => "ignoré",
        "ok" => "ok",
        "pasted text" => "texte collé",
        "predicted changes" => "changements prévus",
        "rescued" => "rattrapé",
        "skipped" => "sauté",
        "the default branch" => "la branche par défaut",
        "unreachable" => "injoignable",
        "version {v} of {n}" => "version {v} sur {n}",
        "warning" => "avertissement",
        "{n} findings" => "{n} constats",
        "{n} hosts" => "{n} hôtes",
        "{path} at {ref}" => "{path} à {ref}",
        "{shown} of {n} hosts: filter to find the others" => "{shown} hôtes sur {n} : filtrez pour trouver les autres",
        "{source}playbook {playbook} on inventory #{inventory}{limit}{check}" => "{source}playbook {playbook} sur l’inventaire #{inventory}{limit}{check}",
        " of plan run #{id}" => " du plan du run #{id}",
        "(it destroys or replaces: two approvers)" => "(il détruit ou remplace : deux approbateurs)",
        "A newer plan exists for this workspace: this plan may no longer be applied." => "Un plan plus récent existe pour cet espace de travail : ce plan ne peut plus être appliqué.",
        "Apply (a plan run's saved plan, after approval)" => "Appliquer (le plan enregistré d’un run de plan, après approbation)",
        "Approving approves plan sha256 {sha}" => "Approuver approuve le plan sha256 {sha}",
        "Attribute" => "Attribut",
        "Changes" => "Changements",
        "Directory (in the repository, . for its root)" => "Répertoire (dans le dépôt, . pour sa racine)",
        "Directory (in the scripts directory, . for its root)" => "Répertoire (dans le répertoire des scripts, . pour sa racine)",
        "Drift: changed outside Terraform" => "Dérive : modifié hors de Terraform",
        "Hide changes" => "Masquer les changements",
        "Locked workspaces" => "Espaces de travail verrouillés",
        "Made by run #{id}" => "Produit par le run #{id}",
        "More attributes change than are listed here." => "D’autres attributs changent que ceux listés ici.",
        "No environment" => "Sans environnement",
        "No plan yet." => "Aucun plan pour l’instant.",
        "No resource in this plan." => "Aucune ressource dans ce plan.",
        "Outputs" => "Sorties",
        "Plan (stores the plan, keeps its file)" => "Planifier (enregistre le plan, garde son fichier)",
        "Plan summary" => "Résumé du plan",
        "Plans come from plan runs of Terraform jobs, or are uploaded through the API. An apply applies a plan run's saved plan once approved; a newer plan of the workspace supersedes it." => "Les plans viennent des runs de plan des jobs Terraform, ou sont envoyés par l’API. Un apply applique le plan enregistré d’un run de plan une fois approuvé ; un plan plus récent de l’espace de travail le remplace.",
        "Risk: {risks}" => "Risque : {risks}",
        "Risky" => "À risque",
        "Show changes" => "Voir les changements",
        "Show unchanged resources" => "Afficher les ressources inchangées",
        "Terraform" => "Terraform",
        "Terraform operation" => "Opération Terraform",
        "Terraform stopped with errors while planning: this plan is incomplete." => "Terraform s’est arrêté sur des erreurs pendant le plan : ce plan est incomplet.",
        "Terraform: {add} to add, {change} to change, {destroy} to destroy" => "Terraform : {add} à ajouter, {change} à modifier, {destroy} à détruire",
        "The plan could not be loaded" => "Le plan n’a pas pu être chargé",
        "The plan of this run" => "Le plan de ce run",
        "The plan shows here once the plan run has stored it." => "Le plan s’affiche ici une fois enregistré par le run de plan.",
        "The plan this apply applies" => "Le plan que cet apply applique",
        "The plans could not be loaded" => "Les plans n’ont pas pu être chargés",
        "Variables (a JSON object; secrets belong in the project's secrets, as TF_VAR_ names)" => "Variables (un objet JSON ; les secrets vont dans les secrets du projet, sous des noms TF_VAR_)",
        "Workspace" => "Espace de travail",
        "create" => "création",
        "delete" => "suppression",
        "forget" => "oubli",
        "held by run #{id}" => "tenu par le run #{id}",
        "no change" => "inchangé",
        "plan #{id}" => "plan #{id}",
        "plan sha256 {sha}" => "plan sha256 {sha}",
        "read" => "lecture",
        "replace" => "remplacement",
        "root module" => "module racine",
        "sensitive" => "sensible",
        "superseded" => "remplacé",
        "to create" => "à créer",
        "to delete" => "à supprimer",
        "to read" => "à lire",
        "to replace" => "à remplacer",
        "to update" => "à modifier",
        "unchanged" => "inchangées",
        "update" => "modification",
        "{n} of {needed} approvals" => "{n} approbation(s) sur {needed}",
        "{n} resources change" => "{n} ressources changent",
        "{source}terraform {operation} in {dir} (workspace {workspace}){plan_run}" => "{source}terraform {operation} dans {dir} (espace de travail {workspace}){plan_run}",
        "You approved this plan: it waits for a second approver." => "Vous avez approuvé ce plan : il attend un second approbateur.",
        "locked" => "verrouillé",
        "Loading the plans…" => "Chargement des plans…",
        "No plan of workspace {workspace} to apply: launch a plan job of this workspace first." => "Aucun plan de l’espace de travail {workspace} à appliquer : lancez d’abord un job de plan de cet espace.",
        "Plan to apply" => "Plan à appliquer",
        "plan #{id} of run #{run}: +{add} ~{change} −{destroy}{risky}" => "plan #{id} du run #{run} : +{add} ~{change} −{destroy}{risky}",
        "A cluster's kubeconfig is kept in the secret store only and never shown again. Runs on a cluster get only its context, confined to its namespace, under the guardrails of its environment." => "Le kubeconfig d’un cluster est gardé dans le coffre de secrets seulement et n’est plus jamais affiché. Les runs sur un cluster reçoivent seulement son contexte, limités à son namespace, sous les garde-fous de son environnement.",
        "API server" => "Serveur d’API",
        "Add a cluster" => "Ajouter un cluster",
        "Add the cluster" => "Ajouter le cluster",
        "CA fingerprint" => "Empreinte de l’AC",
        "Check now" => "Vérifier maintenant",
        "Checked" => "Vérifié",
        "Checking the kubeconfig…" => "Vérification du kubeconfig…",
        "Checking…" => "Vérification…",
        "Choose a cluster" => "Choisir un cluster",
        "Cluster (its environment must be the job's)" => "Cluster (son environnement doit être celui du job)",
        "Cluster links to upgrade" => "Liens de cluster à mettre à niveau",
        "Context" => "Contexte",
        "Context (empty: the current one)" => "Contexte (vide : le contexte courant)",
        "Environment (its guardrails apply)" => "Environnement (ses garde-fous s’appliquent)",
        "Keep" => "Garder",
        "Kubeconfig (YAML; kept in the secret store, never shown again)" => "Kubeconfig (YAML ; gardé dans le coffre de secrets, plus jamais affiché)",
        "Kubernetes" => "Kubernetes",
        "Namespace (empty: the context's)" => "Namespace (vide : celui du contexte)",
        "No cluster yet." => "Aucun cluster pour l’instant.",
        "Remove this cluster and its kubeconfig?" => "Retirer ce cluster et son kubeconfig ?",
        "Remove…" => "Retirer…",
        "Signs in with" => "S’authentifie par",
        "TLS" => "TLS",
        "The clusters could not be loaded" => "Les clusters n’ont pas pu être chargés",
        "The project has no cluster yet: add one on its Kubernetes tab." => "Le projet n’a pas encore de cluster : ajoutez-en un dans son onglet Kubernetes.",
        "These clusters are links with a URL only: give their kubeconfig to check them and run kubectl there." => "Ces clusters ne sont que des liens avec une URL : donnez leur kubeconfig pour les vérifier et y lancer kubectl.",
        "Upgrade the link {name}" => "Mettre à niveau le lien {name}",
        "Upgrade with a kubeconfig" => "Mettre à niveau avec un kubeconfig",
        "anonymous" => "anonyme",
        "auth provider plug-in" => "greffon auth-provider",
        "bearer token" => "jeton porteur",
        "client certificate" => "certificat client",
        "command (exec)" => "commande (exec)",
        "degraded" => "dégradé",
        "healthy" => "sain",
        "kubectl" => "kubectl",
        "kubectl arguments, one per line (the namespace and credentials are the cluster's)" => "Arguments de kubectl, un par ligne (le namespace et les identifiants sont ceux du cluster)",
        "kubectl {args} on cluster #{cluster}" => "kubectl {args} sur le cluster #{cluster}",
        "not checked yet" => "pas encore vérifié",
        "not verified" => "non vérifié",
        "public authorities" => "autorités publiques",
        "user name and password" => "nom d’utilisateur et mot de passe",
        "verified against the kubeconfig's CA" => "vérifié avec l’AC du kubeconfig",
        "{count} permission rules in the namespace" => "{count} règles de permission dans le namespace",
        "Kubernetes cluster it reaches (optional; its environment must be the job's)" => "Cluster Kubernetes atteint (facultatif ; son environnement doit être celui du job)",
        "Add to the timeline" => "Ajouter à la chronologie",
        "Ansible run" => "Run Ansible",
        "Changes of the 24 hours before detection, best suspect first; each score has its reasons. Changes that cannot have caused it are listed last." => "Changements des 24 heures avant la détection, le plus suspect en premier ; chaque score a ses raisons. Les changements qui ne peuvent pas en être la cause viennent en dernier.",
        "Deployment" => "Déploiement",
        "Details (optional)" => "Détails (facultatif)",
        "Download the Markdown" => "Télécharger le Markdown",
        "Draft from the timeline" => "Rédiger depuis la chronologie",
        "Drafting…" => "Rédaction…",
        "Everything" => "Tout",
        "Job moved" => "Job déplacé",
        "Mark as the cause" => "Marquer comme la cause",
        "No change before detection." => "Aucun changement avant la détection.",
        "No post-mortem yet: draft one from the timeline, then edit it." => "Pas encore de post-mortem : rédigez-en un depuis la chronologie, puis modifiez-le.",
        "Not the cause" => "Pas la cause",
        "Note" => "Note",
        "Notes" => "Notes",
        "Nothing to show here." => "Rien à afficher ici.",
        "Pin" => "Épingler",
        "Pinned" => "Épinglés",
        "Post-mortem" => "Post-mortem",
        "Post-mortem (Markdown)" => "Post-mortem (Markdown)",
        "Post-mortem view" => "Vue du post-mortem",
        "Preview" => "Aperçu",
        "Remembered event" => "Événement rapporté après coup",
        "Run approved" => "Run approuvé",
        "Run failed" => "Run en échec",
        "Run launched" => "Run lancé",
        "Run succeeded" => "Run réussi",
        "Save a new version" => "Enregistrer une nouvelle version",
        "Show" => "Afficher",
        "Suspected changes" => "Changements suspects",
        "Terraform apply" => "Apply Terraform",
        "The post-mortem could not be loaded" => "Le post-mortem n’a pas pu être chargé",
        "The suspects could not be loaded" => "Les suspects n’ont pas pu être chargés",
        "The timeline could not be loaded" => "La chronologie n’a pas pu être chargée",
        "Timeline" => "Chronologie",
        "Unpin" => "Désépingler",
        "When it happened (UTC; empty: now)" => "Quand c’est arrivé (UTC ; vide : maintenant)",
        "not the cause" => "pas la cause",
        "score" => "score",
        "the cause" => "la cause",
        "version {version}, by {who}, {at}" => "version {version}, par {who}, {at}",
        "Open an incident from this run" => "Ouvrir un incident depuis ce run",
        "Host threshold" => "Seuil de l’hôte",
        "top suspect: {title}" => "suspect principal : {title}",
        "{duration}, ongoing" => "{duration}, en cours",
        // FRENCH-TABLE-END
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(
            Locale::from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"),
            Locale::Fr
        );
        assert_eq!(
            Locale::from_accept_language("de-DE,de;q=0.9,fr;q=0.5"),
            Locale::Fr
        );
        assert_eq!(Locale::from_accept_language("en-US,fr;q=0.9"), Locale::En);
        assert_eq!(
            Locale::from_accept_language("fr;q=0.2,en;q=0.8"),
            Locale::En
        );
        assert_eq!(Locale::from_accept_language("de"), Locale::En);
        assert_eq!(Locale::from_accept_language("fr;q=0"), Locale::En);
        assert_eq!(Locale::from_accept_language(""), Locale::En);
    }

    #[test]
    fn dates_speak_french() {
        assert_eq!(
            Locale::Fr.dates("Monday 3 December 2026"),
            "lundi 3 décembre 2026"
        );
        assert_eq!(Locale::Fr.dates("Wed  9 Dec 09:00"), "mer.  9 déc. 09:00");
        assert_eq!(Locale::En.dates("Wed 9 Dec"), "Wed 9 Dec");
        assert_eq!(Locale::Fr.dates("May 2027"), "mai 2027");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(Locale::En.tf("{n} jobs", &[("n", "3")]), "3 jobs");
        assert_eq!(Locale::Fr.tf("{n} jobs", &[("n", "3")]), "3 tâches");
    }

    /// Every `t("…")` / `tf("…"` in the application's sources has its French: a new string
    /// without a translation fails here, not in front of a French-speaking user.
    #[test]
    fn every_string_of_the_ui_has_its_french() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut missing = Vec::new();
        let mut seen = 0;
        // Every source file, features' folders included.
        let mut folders = vec![std::path::PathBuf::from(dir)];
        let mut files = Vec::new();
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("app/src is readable") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
                    files.push(path);
                }
            }
        }
        for path in files {
            let source = std::fs::read_to_string(&path).expect("a source file is readable");
            for key in translated_literals(&source) {
                seen += 1;
                if french(&key).is_none() {
                    missing.push(format!("{}: {key:?}", path.display()));
                }
            }
        }
        assert!(seen > 100, "the scan found the UI's strings ({seen})");
        assert!(missing.is_empty(), "no French for:\n{}", missing.join("\n"));
    }

    /// The policy's refusals reach the page (a server function's answer, a disabled action's
    /// reason) through `t(refusal.message)`: each rule's message has its French too.
    #[test]
    fn every_refusal_of_the_policy_has_its_french() {
        let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../domain/src/policy/mod.rs");
        let source = std::fs::read_to_string(policy).expect("the policy is readable");
        let mut rules = 0;
        let mut missing = Vec::new();
        for rule in source.split(concat!("rule", "!(")).skip(1) {
            // `rule!("code", "message")`: the second literal.
            let literals: Vec<&str> = rule.split('"').collect();
            let Some(message) = literals.get(3) else {
                continue;
            };
            rules += 1;
            if french(message).is_none() {
                missing.push(*message);
            }
        }
        assert!(rules > 20, "the scan found the policy's rules ({rules})");
        assert!(
            missing.is_empty(),
            "no French for the refusals:\n{}",
            missing.join("\n")
        );
    }

    /// The string literals passed to `t(`, `tf(`, `.t(` and `.tf(` in `source` (rustfmt may put
    /// the literal on the next line).
    fn translated_literals(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        // Spelled apart so this line is not a call the scan would find.
        for marker in [concat!("t", "("), concat!("tf", "(")] {
            let mut rest = source;
            while let Some(at) = rest.find(marker) {
                let before = rest[..at].chars().next_back();
                rest = &rest[at + marker.len()..];
                // `t(` must be a call of ours, not the end of another name (`split(`, `get(`).
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let Some(literal_start) = rest.trim_start().strip_prefix('"') else {
                    continue;
                };
                rest = literal_start;
                let mut literal = String::new();
                let mut chars = rest.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                literal.push(match escaped {
                                    'n' => '\n',
                                    other => other,
                                });
                            }
                        }
                        '"' => break,
                        other => literal.push(other),
                    }
                }
                found.push(literal);
            }
        }
        found
    }
}
